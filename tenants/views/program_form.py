"""The program editor's form layer: the `Program` schema as form fields in a shop owner's units, and back.

Every part of the program (a top-level field of `Program`) is edited as one form whose inputs are named by
their dotted path from the rules' root (``tiers.1.reach.0.min``), so a validation message of the domain,
which names the same path, lands on its input. The mapping is read from the pydantic schema, so a field added
to the model appears in the editor; units come from the field names: ``*_fen`` is typed and shown in yuan
(¥12.34 ↔ 1234), ``*_price_bp`` as 折 (9 ↔ 9000), other ``*_bp`` as a percent (20 ↔ 2000), ``min`` of a rule
with a ``measure`` in yuan for spend and in points otherwise. Conversions use Decimal: no float drift.

Three steps, all over a flat form (name → list of strings, what a browser posts):
`to_form` writes rules as that form, `from_form` reads it back (with a message per input it cannot read),
`build` turns it into the nodes the template draws (labels, help, the typed values and the messages).
Rows of lists and dicts are found by their index in the names, so rows can be added and removed freely.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal, Union, get_args, get_origin

import annotated_types
from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from saas.text import clean_name
from tenants.domain.program import LocalizedText, Program

NONE = type(None)
MAX_WHOLE = 10**12  # larger than any real threshold; keeps nonsense out of the rules
MAX_TEXT = 200  # a name shown to people
MAX_NOTE = 2000  # a section's note
LANGS = (("zh_CN", "中文"), ("en", "English"))
# Program fields that are not edited as a part (the document's note and bookkeeping, the tenant's currency).
NOT_PARTS = ("description", "schema_version", "vertical", "currency")
PARTS = tuple(name for name in Program.model_fields if name not in NOT_PARTS)


@dataclass(frozen=True)
class Shape:
    """What a field's type means for a form."""

    kind: str  # int decimal str bool choice text2 model union list dict
    optional: bool = False
    model: type | None = None
    variants: dict = field(default_factory=dict)  # union: kind value → model
    choices: tuple = ()
    item: Shape | None = None
    ge: int | None = None  # the bounds of a number, in the rules' units
    le: int | None = None


def _bounds(metadata) -> dict:
    found = {}
    for item in metadata:
        for inner in getattr(item, "metadata", None) or [item]:
            if isinstance(inner, annotated_types.Ge):
                found["ge"] = inner.ge
            elif isinstance(inner, annotated_types.Le):
                found["le"] = inner.le
    return found


def shape_of(annotation, metadata=()) -> Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner = shape_of(get_args(annotation)[0])
        return replace(inner, **_bounds([*get_args(annotation)[1:], *metadata]))
    if metadata and (bounds := _bounds(metadata)):
        return replace(shape_of(annotation), **bounds)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not NONE]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            inner = shape_of(args[0])
            return replace(inner, optional=optional or inner.optional)
        variants = {get_args(m.model_fields["kind"].annotation)[0]: m for m in args}
        return Shape("union", optional=optional, variants=variants)
    if origin is Literal:
        return Shape("choice", choices=get_args(annotation))
    if origin is list:
        return Shape("list", item=shape_of(get_args(annotation)[0]))
    if origin is dict:
        return Shape("dict", item=shape_of(get_args(annotation)[1]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Shape("text2" if annotation is LocalizedText else "model", model=annotation)
    if annotation is bool:
        return Shape("bool")
    if annotation is int:
        return Shape("int")
    if annotation is Decimal:
        return Shape("decimal")
    if annotation is str:
        return Shape("str")
    raise TypeError(f"the program editor has no input for {annotation!r}")


def part_shape(part: str) -> Shape:
    return shape_of(Program.model_fields[part].annotation)


def fields_of(model: type) -> list[tuple[str, Shape]]:
    return [(name, shape_of(info.annotation, info.metadata)) for name, info in model.model_fields.items()]


# --- units ---------------------------------------------------------------------------------------------------

PRICE_DICTS = {"category_price_bp", "unlock_category_price_bp", "tier_discount_price_bp"}


def unit_of(name: str, model: type | None) -> str:
    """yuan | zhe | percent | measured | months | days | '' for a field ``name`` of ``model``."""
    if name.endswith("_fen"):
        return "yuan"
    if name.endswith("price_bp") or name in PRICE_DICTS:
        return "zhe"
    if name.endswith("_bp"):
        return "percent"
    if name == "min" and model is not None and "measure" in model.model_fields:
        return "measured"
    if name.endswith("_months") or name == "months":
        return "months"
    if name.endswith("_days") or name == "days":
        return "days"
    return ""


SCALES = {"yuan": (100, 2), "zhe": (1000, 2), "percent": (100, 2)}


def show_scaled(number, unit: str) -> str:
    """An integer of the rules in the form's unit, exactly: 1234 fen → "12.34", 9000 bp → "9" (折)."""
    if not isinstance(number, int) or isinstance(number, bool):
        return "" if number is None else str(number)
    factor, _places = SCALES[unit]
    text = format(Decimal(number) / factor, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_DECIMAL = re.compile(r"^-?\d{1,13}(\.\d+)?$")


def parse_scaled(raw: str, unit: str) -> int:
    """The integer of the rules for a typed "12.34" (yuan → 1234 fen); ValueError with the message."""
    factor, places = SCALES[unit]
    text = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    text = text.removesuffix("%").removesuffix("折").strip()
    if not _DECIMAL.match(text) or len(text.partition(".")[2]) > places:
        raise ValueError({"yuan": _("Enter an amount in yuan, at most 2 decimals (12.34)."),
                          "zhe": _("Enter a discount in 折, at most 2 decimals (9 = pay 90%)."),
                          "percent": _("Enter a percent, at most 2 decimals (12.5).")}[unit])
    value = int(Decimal(text) * factor)
    if unit == "zhe" and value > 10_000:
        raise ValueError(_("At most 10折 (the full price)."))
    if unit == "percent" and value > 10_000:
        raise ValueError(_("At most 100%."))
    if abs(value) > MAX_WHOLE:
        raise ValueError(_("This number is too large."))
    return value


def show_limit(number: int, unit: str) -> str:
    """A bound of the rules in the form's unit: 1 fen → "¥0.01", 10000 bp → "10折" / "100%"."""
    if unit == "yuan":
        return "¥" + show_scaled(number, unit)
    if unit == "zhe":
        return show_scaled(number, unit) + _("折")
    if unit == "percent":
        return show_scaled(number, unit) + "%"
    return str(number)


def parse_whole(raw: str) -> int:
    text = raw.strip().replace(",", "").replace("，", "")
    if not re.fullmatch(r"-?\d{1,13}", text):
        raise ValueError(_("Enter a whole number."))
    value = int(text)
    if abs(value) > MAX_WHOLE:
        raise ValueError(_("This number is too large."))
    return value


def measured_unit(form: dict, parent: str, model: type) -> str:
    """The unit of a rule's ``min``: yuan when its measure is spend, points otherwise."""
    measure = first(form, f"{parent}.measure") or model.model_fields["measure"].default
    return "yuan" if measure == "spend" else "points"


# --- rules → form --------------------------------------------------------------------------------------------


def first(form: dict, name: str) -> str:
    values = form.get(name) or [""]
    return values[0] if isinstance(values[0], str) else str(values[0])


def default_of(model: type, name: str):
    info = model.model_fields[name]
    if info.is_required():
        return None
    default = info.get_default(call_default_factory=True)
    return None if default is PydanticUndefined else to_jsonable_python(default)


def is_code_list(shape: Shape) -> bool:
    return shape.kind == "list" and shape.item.kind in ("str", "int", "choice")


def to_form(shape: Shape, value, name: str, out: dict, *, unit: str = "", parent_model=None) -> dict:
    """``value`` (rules JSON) as the flat form the editor posts."""
    kind = shape.kind
    if kind in ("model", "union", "text2") and shape.optional:
        out[f"{name}.__on"] = ["1"] if value is not None else []
    if kind == "union":
        value = value if isinstance(value, dict) else {}
        model = shape.variants.get(value.get("kind"))
        if model is not None:
            _model_to_form(model, value, name, out)
    elif kind == "model":
        _model_to_form(shape.model, value if isinstance(value, dict) else {}, name, out)
    elif kind == "text2":
        value = value if isinstance(value, dict) else {}
        for lang, _label in LANGS:
            out[f"{name}.{lang}"] = [str(value.get(lang) or "")]
    elif kind == "list" and is_code_list(shape):
        values = value if isinstance(value, list) else []
        if unit in SCALES:
            for index, item in enumerate(values):
                out[f"{name}.{index}"] = [show_scaled(item, unit)]
        else:
            out[name] = [str(v) for v in values]
    elif kind == "list":
        for index, item in enumerate(value if isinstance(value, list) else []):
            out[f"{name}.{index}.__row"] = ["1"]
            to_form(shape.item, item, f"{name}.{index}", out)
    elif kind == "dict":
        for index, (key, item) in enumerate((value if isinstance(value, dict) else {}).items()):
            out[f"{name}.{index}.__key"] = [str(key)]
            if shape.item.kind == "model":
                to_form(shape.item, item, f"{name}.{index}", out)
            else:
                out[f"{name}.{index}.__value"] = [show_scaled(item, unit) if unit in SCALES else str(item)]
    elif kind == "bool":
        out[name] = ["1"] if value else []
    elif kind == "int" and unit == "measured":
        measure = "spend"
        if parent_model is not None:
            measure = out.get(name.rsplit(".", 1)[0] + ".measure", [parent_model.model_fields["measure"].default])[0]
        out[name] = [show_scaled(value, "yuan") if measure == "spend" else ("" if value is None else str(value))]
    elif kind == "int" and unit in SCALES:
        out[name] = [show_scaled(value, unit)]
    else:
        out[name] = ["" if value is None else str(value)]
    return out


def _model_to_form(model: type, value: dict, name: str, out: dict) -> None:
    for fname, fshape in fields_of(model):
        item = value[fname] if fname in value else default_of(model, fname)
        to_form(fshape, item, f"{name}.{fname}", out, unit=unit_of(fname, model), parent_model=model)


def part_form(part: str, rules: dict) -> dict:
    return to_form(part_shape(part), rules.get(part, default_of(Program, part)), part, {},
                   unit=unit_of(part, Program))


def blank_row(shape: Shape, name: str, kind: str | None = None) -> dict:
    """The flat form of a new row of the list or dict at ``name`` (``kind``: the variant of a union)."""
    item = shape.item
    if item.kind == "union":
        return to_form(Shape("union", variants=item.variants), {"kind": kind if kind in item.variants
                                                                   else next(iter(item.variants))}, name, {})
    if item.kind in ("model", "text2"):
        return to_form(Shape(item.kind, model=item.model), {}, name, {})
    return {f"{name}.__value": [""]}


# --- form → rules --------------------------------------------------------------------------------------------


def row_indices(form: dict, name: str) -> list[int]:
    """The row numbers of the list or dict at ``name`` present in the form, in order."""
    pattern = re.compile(re.escape(name) + r"\.(\d{1,4})\.")
    return sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})


@dataclass
class Reading:
    form: dict
    errors: dict = field(default_factory=dict)  # error path → message


def from_form(shape: Shape, reading: Reading, name: str, err: str, *, unit: str = "", model=None):
    """The rules JSON of the inputs under ``name``; a message per unreadable input in ``reading.errors``."""
    form, kind = reading.form, shape.kind
    if kind in ("model", "union", "text2") and shape.optional and not first(form, f"{name}.__on"):
        return None
    if kind == "union":
        variant = shape.variants.get(first(form, f"{name}.kind"))
        if variant is None:
            reading.errors[err] = _("Choose a kind of rule.")
            return {}
        return _model_from_form(variant, reading, name, f"{err}.{first(form, f'{name}.kind')}")
    if kind == "model":
        return _model_from_form(shape.model, reading, name, err)
    if kind == "text2":
        texts = {lang: clean_name(first(form, f"{name}.{lang}")) for lang, _label in LANGS}
        for lang, text in texts.items():
            if len(text) > MAX_TEXT:
                reading.errors[f"{err}.{lang}"] = _("At most %(max)d characters.", max=MAX_TEXT)
        return texts
    if kind == "list" and is_code_list(shape):
        if unit in SCALES:
            values = []
            for index in range(len([k for k in form if k.startswith(f"{name}.")])):
                values.append(_scalar(Shape("int"), reading, f"{name}.{index}", f"{err}.{index}", unit))
            return values
        raw = [v for v in form.get(name, []) if isinstance(v, str)]
        if len(raw) == 1 and shape.item.kind == "str":  # one text box, codes separated by commas or spaces
            raw = re.split(r"[\s,，、;；]+", raw[0])
        values = [clean_name(v)[:MAX_TEXT] for v in raw if clean_name(v)]
        if shape.item.kind == "int":
            try:
                return [parse_whole(v) for v in values]
            except ValueError as e:
                reading.errors[err] = str(e)
                return []
        return list(dict.fromkeys(values))
    if kind == "list":
        return [from_form(shape.item, reading, f"{name}.{index}", f"{err}.{position}")
                for position, index in enumerate(row_indices(form, name))]
    if kind == "dict":
        result: dict = {}
        for index in row_indices(form, name):
            key = first(form, f"{name}.{index}.__key").strip()
            if not key:
                reading.errors[f"{err}.#{index}"] = _("Choose a code.")
                continue
            if key in result:
                reading.errors[f"{err}.#{index}"] = _("This code is listed twice.")
                continue
            if shape.item.kind == "model":
                result[key] = from_form(shape.item, reading, f"{name}.{index}", f"{err}.{key}")
            else:
                result[key] = _scalar(shape.item, reading, f"{name}.{index}.__value", f"{err}.{key}", unit)
        return result
    if kind == "bool":
        return bool(first(form, name))
    return _scalar(shape, reading, name, err, unit, model)


def _scalar(shape: Shape, reading: Reading, name: str, err: str, unit: str, model=None):
    raw = clean_name(first(reading.form, name))  # no control characters (nor NUL) into the rules
    if shape.kind in ("str", "choice"):
        if not raw and shape.optional:
            return None
        if len(raw) > MAX_NOTE:
            reading.errors[err] = _("At most %(max)d characters.", max=MAX_NOTE)
        return raw
    if not raw:
        if not shape.optional:
            reading.errors[err] = _("Enter a number.")
        return None
    try:
        if shape.kind == "decimal":
            if not re.fullmatch(r"\d{1,4}(\.\d{1,4})?", raw):
                raise ValueError(_("Enter a number, at most 4 decimals (1.5)."))
            return str(Decimal(raw).normalize()) if Decimal(raw) != 0 else "0"
        if unit == "measured" and model is not None:
            unit = measured_unit(reading.form, name.rsplit(".", 1)[0], model)
        value = parse_scaled(raw, unit) if unit in SCALES else parse_whole(raw)
        if shape.ge is not None and value < shape.ge:
            raise ValueError(_("Must be at least %(limit)s.", limit=show_limit(shape.ge, unit)))
        if shape.le is not None and value > shape.le:
            raise ValueError(_("Must be at most %(limit)s.", limit=show_limit(shape.le, unit)))
        return value
    except (ValueError, InvalidOperation) as e:
        reading.errors[err] = str(e)
        return None


def _model_from_form(model: type, reading: Reading, name: str, err: str) -> dict:
    result = {}
    for fname, fshape in fields_of(model):
        value = from_form(fshape, reading, f"{name}.{fname}", f"{err}.{fname}", unit=unit_of(fname, model),
                          model=model)
        if value is None and fshape.kind in ("str", "choice") and not fshape.optional:
            continue  # an empty required text or choice: the model says it is missing
        result[fname] = value
    return result


def read_part(part: str, form: dict) -> tuple[object, dict]:
    """(the part's rules JSON, {error path: message} of the inputs that could not be read)."""
    reading = Reading(form)
    value = from_form(part_shape(part), reading, part, part, unit=unit_of(part, Program))
    return value, reading.errors


def flat(multidict) -> dict:
    """A request's form as {name: [values]} (the editor's own controls, starting with "_", left out)."""
    return {k: [v for v in vs if isinstance(v, str)] for k, vs in multidict.lists()
            if not k.startswith("_") and k not in ("csrf_token", "idem")}


def add_row(part: str, form: dict, path: str, kind: str | None) -> dict:
    """The form with one new row at the end of the list or dict at ``path``; unchanged for an unknown path."""
    shape = shape_at(part, path)
    if shape is None or shape.kind not in ("list", "dict") or is_code_list(shape):
        return form
    rows = row_indices(form, path)
    index = (rows[-1] + 1) if rows else 0
    new = blank_row(shape, f"{path}.{index}", kind)
    new[f"{path}.{index}.__row"] = ["1"]
    if shape.kind == "dict":
        new[f"{path}.{index}.__key"] = [""]
    return {**form, **new}


def remove_row(form: dict, path: str) -> dict:
    return {k: v for k, v in form.items() if not k.startswith(path + ".")}


def shape_at(part: str, path: str) -> Shape | None:
    """The shape of the list or dict whose inputs are named ``path`` (``tiers.0.reach``), or None."""
    parts = path.split(".")
    if not parts or parts[0] != part:
        return None
    shape = part_shape(part)
    for segment in parts[1:]:
        if shape.kind in ("list", "dict") and segment.isdigit():
            shape = shape.item
        elif shape.kind == "model" and segment in shape.model.model_fields:
            shape = shape_of(shape.model.model_fields[segment].annotation)
        elif shape.kind == "union":
            variant = next((m for m in shape.variants.values() if segment in m.model_fields), None)
            if variant is None:
                return None
            shape = shape_of(variant.model_fields[segment].annotation)
        else:
            return None
    return shape

