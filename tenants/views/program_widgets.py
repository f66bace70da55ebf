"""The program editor's form as nodes the template draws: labels, help, typed values and messages in place.

`build_part` walks the part's schema over the posted (or initial) flat form; each input carries the error
path the domain names it by (rows by position, dict entries by key, union rows by their kind), so every
message of `save_draft_part` finds its input. Messages no input claims are returned apart, for the top of
the form.
"""

from __future__ import annotations

from babel.dates import get_month_names
from flask_babel import get_locale
from flask_babel import gettext as _

from tenants.domain.program import Program
from tenants.views.program_form import (
    LANGS,
    SCALES,
    Shape,
    fields_of,
    first,
    is_code_list,
    measured_unit,
    part_shape,
    row_indices,
    unit_of,
)
from tenants.views.program_labels import choice_label, field_help, field_label

# Which codes a list of codes or a dict's keys name.
CODE_DOMAINS = {"from_tiers": "tiers", "excluded_categories": "categories", "unlock_tier": "tiers",
                "category_price_bp": "categories", "unlock_category_price_bp": "categories",
                "tier_discount_price_bp": "tiers", "thresholds": "tiers", "stores": "stores", "months": "months"}
# Shown once, at the part itself; the nested ones are kept as they are.
HIDDEN_FIELDS = {"description"}


def input_id(name: str) -> str:
    return "f-" + name.replace(".", "-").replace("_", "-")


class Builder:
    def __init__(self, form: dict, errors: dict, ctx: dict):
        self.form, self.errors, self.ctx, self.used = form, errors, ctx, set()
        self.locale = str(get_locale() or "zh_CN")

    def error(self, err: str) -> str:
        if err in self.errors:
            self.used.add(err)
            return self.errors[err]
        return ""

    def options(self, domain: str, current: list[str]) -> list[tuple[str, str]]:
        if domain == "months":
            names = get_month_names("wide", locale=self.locale)
            return [(str(n), names[n]) for n in range(1, 13)]
        known = list(self.ctx.get(domain, []))
        codes = {code for code, _label in known}
        return known + [(c, c) for c in current if c and c not in codes]

    def lower_tiers(self, row: int, current: list[str]) -> list[tuple[str, str]]:
        """In the tiers part, a rule of tier ``row`` may only name the tiers typed above it."""
        lower = [first(self.form, f"tiers.{i}.code") for i in row_indices(self.form, "tiers") if i < row]
        return [(c, c) for c in dict.fromkeys([*(c for c in lower if c), *current])]

    def node(self, shape: Shape, name: str, err: str, *, fname: str, model, label=None, level: int = 1) -> dict:
        label = label if label is not None else field_label(model, fname)
        help_text = field_help(model, fname)
        unit = unit_of(fname, model)
        kind = shape.kind
        base = {"name": name, "id": input_id(name), "label": label, "help": help_text}
        toggle = None
        if kind in ("model", "union", "text2") and shape.optional:
            toggle = {"name": f"{name}.__on", "id": input_id(name + ".__on"),
                      "on": bool(first(self.form, f"{name}.__on"))}
        if kind == "model":
            return {**base, "type": "group", "toggle": toggle, "error": self.error(err), "level": level,
                    "children": self.children(shape.model, name, err, level + 1)}
        if kind == "union":
            value = first(self.form, f"{name}.kind")
            variant = shape.variants.get(value)
            children = self.children(variant, name, f"{err}.{value}", level + 1) if variant else []
            return {**base, "type": "group", "toggle": toggle, "error": self.error(err), "level": level,
                    "label": choice_label("kind", value) if value else label, "children": children}
        if kind == "text2":
            inputs = [{"type": "input", "name": f"{name}.{lang}", "id": input_id(f"{name}.{lang}"), "label": word,
                       "lang": lang.replace("_", "-"), "value": first(self.form, f"{name}.{lang}"),
                       "error": self.error(f"{err}.{lang}"), "maxlength": 200} for lang, word in LANGS]
            return {**base, "type": "pair", "toggle": toggle, "error": self.error(err), "children": inputs}
        if kind == "list" and is_code_list(shape):
            return self.code_list(shape, base, name, err, fname, unit)
        if kind in ("list", "dict"):
            return self.rows(shape, base, name, err, fname, level)
        if kind == "bool":
            return {**base, "type": "check", "on": bool(first(self.form, name)), "error": self.error(err)}
        if kind == "choice":
            value = first(self.form, name)
            if len(shape.choices) == 1:
                return {"type": "hidden", "name": name, "value": value or shape.choices[0]}
            options = [("", "—")] if shape.optional else []
            options += [(c, choice_label(fname, c)) for c in shape.choices]
            return {**base, "type": "select", "value": value, "options": options, "error": self.error(err)}
        if kind == "str" and fname in CODE_DOMAINS:
            value = first(self.form, name)
            options = [("", "—")] + self.options(CODE_DOMAINS[fname], [value])
            return {**base, "type": "select", "value": value, "options": options, "error": self.error(err)}
        return {**base, "type": "input", "value": first(self.form, name), "error": self.error(err),
                **self.unit_marks(unit, name, model, shape),
                "maxlength": (2000 if fname == "description" else 200) if kind == "str" else 20}

    def unit_marks(self, unit: str, name: str, model, shape: Shape) -> dict:
        if unit == "measured":
            unit = measured_unit(self.form, name.rsplit(".", 1)[0], model)
        marks = {"yuan": {"prefix": "¥", "inputmode": "decimal"}, "zhe": {"suffix": _("折"), "inputmode": "decimal"},
                 "percent": {"suffix": "%", "inputmode": "decimal"},
                 "points": {"suffix": _("points"), "inputmode": "numeric"},
                 "months": {"suffix": _("months"), "inputmode": "numeric"},
                 "days": {"suffix": _("days"), "inputmode": "numeric"}}
        if unit in marks:
            return marks[unit]
        return {"inputmode": "numeric"} if shape.kind == "int" else ({"inputmode": "decimal"}
                                                                      if shape.kind == "decimal" else {})

    def code_list(self, shape: Shape, base: dict, name: str, err: str, fname: str, unit: str) -> dict:
        if unit in SCALES:  # a fixed row of shares (A / B / C)
            count = len([k for k in self.form if k.startswith(f"{name}.")]) or 3
            inputs = [{"type": "input", "name": f"{name}.{i}", "id": input_id(f"{name}.{i}"),
                       "label": "ABC"[i] if count == 3 else str(i + 1), "value": first(self.form, f"{name}.{i}"),
                       "error": self.error(f"{err}.{i}"), "suffix": "%", "inputmode": "decimal", "maxlength": 20}
                      for i in range(count)]
            return {**base, "type": "pair", "toggle": None, "error": self.error(err), "children": inputs}
        values = self.form.get(name, [])
        if shape.item.kind == "choice":
            options = [(c, choice_label(fname, c)) for c in shape.item.choices]
        elif fname == "from_tiers" and name.startswith("tiers.") and name.split(".")[1].isdigit():
            options = self.lower_tiers(int(name.split(".")[1]), values)
        elif fname in CODE_DOMAINS:
            options = self.options(CODE_DOMAINS[fname], values)
        else:  # free codes: one text box
            return {**base, "type": "input", "value": "、".join(values) if len(values) > 1 else first(self.form, name),
                    "error": self.error(err), "maxlength": 400}
        return {**base, "type": "checks", "values": values, "options": options, "error": self.error(err)}

    def rows(self, shape: Shape, base: dict, name: str, err: str, fname: str, level: int) -> dict:
        rows = []
        item = shape.item
        for position, index in enumerate(row_indices(self.form, name)):
            row_name = f"{name}.{index}"
            if shape.kind == "dict":
                key = first(self.form, f"{row_name}.__key")
                key_node = {"type": "select", "name": f"{row_name}.__key", "id": input_id(f"{row_name}.__key"),
                            "label": _("Code"), "value": key, "error": self.error(f"{err}.#{index}"),
                            "options": [("", "—")] + self.options(CODE_DOMAINS.get(fname, ""), [key])}
                if item.kind == "model":
                    body = self.children(item.model, row_name, f"{err}.{key}", level + 1)
                else:
                    body = [{"type": "input", "name": f"{row_name}.__value", "id": input_id(f"{row_name}.__value"),
                             "label": _("Discount (折)"), "help": "",
                             "value": first(self.form, f"{row_name}.__value"), "error": self.error(f"{err}.{key}"),
                             **self.unit_marks(unit_of(fname, None), row_name, None, item), "maxlength": 20}]
                children = [key_node, *body]
                title = key or _("New entry")
            else:
                node = self.node(item, row_name, f"{err}.{position}", fname=fname, model=None, label="",
                                 level=level + 1)
                children = node.get("children") if node["type"] in ("group",) else [node]
                if node["type"] == "group" and node.get("error"):
                    children = [{"type": "message", "error": node["error"]}, *children]
                title = self.row_title(row_name, position, node)
            rows.append({"name": row_name, "title": title,
                         "children": [{"type": "hidden", "name": f"{row_name}.__row", "value": "1"}, *children]})
        kinds = [(k, choice_label("kind", k)) for k in item.variants] if item.kind == "union" else []
        return {**base, "type": "rows", "rows": rows, "kinds": kinds, "error": self.error(err), "level": level}

    def row_title(self, row_name: str, position: int, node: dict) -> str:
        name = first(self.form, f"{row_name}.name.{'en' if self.locale.startswith('en') else 'zh_CN'}") \
            or first(self.form, f"{row_name}.name.zh_CN") or first(self.form, f"{row_name}.name.en")
        code = first(self.form, f"{row_name}.code")
        if node["type"] == "group" and first(self.form, f"{row_name}.kind"):
            return f"{position + 1}. {node['label']}"
        return f"{position + 1}. {name or code or ''}".strip()

    def children(self, model, name: str, err: str, level: int) -> list[dict]:
        nodes = []
        for fname, fshape in fields_of(model):
            if fname in HIDDEN_FIELDS and level > 2 or (fname == "kind" and fshape.kind == "choice"
                                                         and len(fshape.choices) == 1):
                nodes.append({"type": "hidden", "name": f"{name}.{fname}", "value": first(self.form, f"{name}.{fname}")
                              or (fshape.choices[0] if fname == "kind" else "")})
                continue
            nodes.append(self.node(fshape, f"{name}.{fname}", f"{err}.{fname}", fname=fname, model=model,
                                   level=level))
        return nodes


def build_part(part: str, form: dict, errors: dict, ctx: dict) -> tuple[dict, list[str]]:
    """(the part's root node, the messages no input of it claims)."""
    builder = Builder(form, errors, ctx)
    root = builder.node(part_shape(part), part, part, fname=part, model=Program, level=1)
    rest = [message for path, message in errors.items() if path not in builder.used]
    return root, rest
