"""What changed between two program documents, as a list of changes with a stable structure.

Both sides are read as full documents (a `Program` or its rules dict, validated so every default is filled
in), then walked field by field. Lists of coded things (tiers, card types, categories, catalogue items,
earning classes, threshold rewards, follow-ups) are matched by ``code``, not by position: an item in both
documents whose place among the others changed is ``moved``, not removed and added again. Lists of rules of
several kinds (how a tier is reached, how one enrols) are matched by ``kind`` (the second rule of a kind as
``kind#2``); points-payment rules, stepped rates and top-up bonus rows by the threshold they start at; maps
(store rules, per-category rates, linked thresholds) by their key. Other lists (months, tenders, perks ...)
are values: the old list and the new one.

A `Change` names:
- ``kind``: changed | added | removed | moved;
- ``path``: the keys from the document's root to what changed, items by their key
  (``("tiers", "gold", "reach", "cumulative", "min")``);
- ``schema``: the same path with list and map keys replaced by ``*`` (union members by their kind), the key of
  the label catalogue (``"tiers.*.reach.cumulative.min"``);
- ``old`` / ``new``: the values (JSON: dicts for added/removed items; positions 1, 2 ... for moved);
- ``owner``: the object holding the field (the new side's, else the old side's), to read units such as the
  ``measure`` of a threshold.
The part is ``path[0]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenants.domain.program import Program

# Lists whose items are matched by something other than a code: schema path → the item's key field.
LIST_KEYS = {
    "enrolment.conditions": "kind",
    "card_types.*.fee_waivers": "min_fen",
    "tiers.*.reach": "kind",
    "redemption.payment.rules": "from_points",
    "redemption.stepped": "from_points",
    "stored_value.bonus_rows": "min_top_up_fen",
}
# Maps whose values are objects or numbers keyed by a code (a store, a category, a tier).
MAPS = frozenset({
    "tiers.*.benefits.category_price_bp", "linked_cards.thresholds", "stores", "stores.*.tier_discount_price_bp",
    "stored_value.bonus_rows.*.unlock_category_price_bp",
})
KIND_LISTS = frozenset(path for path, key in LIST_KEYS.items() if key == "kind")


@dataclass(frozen=True)
class Change:
    kind: str
    path: tuple
    schema: str
    old: Any = None
    new: Any = None
    owner: dict = field(default_factory=dict, compare=False)

    @property
    def part(self) -> str:
        return str(self.path[0])


def as_document(program: Program | dict) -> dict:
    """The full JSON document of ``program`` (defaults filled in); raises pydantic.ValidationError when invalid."""
    if not isinstance(program, Program):
        program = Program.model_validate(program)
    return program.model_dump(mode="json")


def diff_programs(old: Program | dict, new: Program | dict) -> list[Change]:
    """Every change from ``old`` to ``new``, in the documents' order (parts in `Program`'s field order)."""
    changes: list[Change] = []
    _walk(as_document(old), as_document(new), (), "", {}, changes)
    return changes


def _join(schema: str, key: str) -> str:
    return f"{schema}.{key}" if schema else key


def _is_coded_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "code" in v for v in value)


def _keyed(items: list, key_field: str) -> dict:
    """{key: item} for a list of dicts; a key met again gets #2, #3 ..."""
    keyed: dict = {}
    for item in items:
        base = str(item.get(key_field)) if key_field != "code" else item["code"]
        key, n = base, 1
        while key in keyed:
            n += 1
            key = f"{base}#{n}"
        keyed[key] = item
    return keyed


def list_key_field(schema: str, old: list, new: list) -> str | None:
    """How items of the list at ``schema`` are matched: by a field, or None (the list is a value)."""
    if schema in LIST_KEYS:
        return LIST_KEYS[schema]
    if _is_coded_list(old) or _is_coded_list(new) or schema in CODED_LISTS:
        return "code"
    return None


CODED_LISTS = frozenset({
    "card_types", "categories", "tiers", "earning.classes", "redemption.catalogue", "redemption.threshold_rewards",
    "care.follow_ups",
})


def item_schema(schema: str, key: str) -> str:
    """The schema path of one item: union members by their kind, others ``*``."""
    if schema in KIND_LISTS:
        return _join(schema, key.split("#")[0])
    return _join(schema, "*")


def _walk(old: Any, new: Any, path: tuple, schema: str, owner: dict, out: list[Change]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and not _is_text(old) and not _is_text(new):
        if schema in MAPS:
            _walk_keyed(old, new, path, schema, out, ordered=False)
            return
        for key in [*old, *(k for k in new if k not in old)]:
            _walk(old.get(key), new.get(key), (*path, key), _join(schema, key), new or old, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        key_field = list_key_field(schema, old, new)
        if key_field is not None:
            _walk_keyed(_keyed(old, key_field), _keyed(new, key_field), path, schema, out, ordered=True)
            return
    if old is None and new is not None and not _is_leaf(new):
        out.append(Change("added", path, schema, None, new, owner))
    elif new is None and old is not None and not _is_leaf(old):
        out.append(Change("removed", path, schema, old, None, owner))
    else:
        out.append(Change("changed", path, schema, old, new, owner))


def _is_text(value: dict) -> bool:
    return bool(value) and set(value) <= {"zh_CN", "en"}


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict) or _is_text(value)


def _walk_keyed(old: dict, new: dict, path: tuple, schema: str, out: list[Change], *, ordered: bool) -> None:
    for key, item in old.items():
        if key not in new:
            out.append(Change("removed", (*path, key), item_schema(schema, key), item, None, item))
    if ordered:
        common_old = [k for k in old if k in new]
        common_new = [k for k in new if k in old]
        positions_old = {k: i + 1 for i, k in enumerate(old)}
        positions_new = {k: i + 1 for i, k in enumerate(new)}
        for key in _moved(common_old, common_new):
            out.append(Change("moved", (*path, key), item_schema(schema, key), positions_old[key],
                              positions_new[key], new[key]))
    for key, item in new.items():
        if key not in old:
            out.append(Change("added", (*path, key), item_schema(schema, key), None, item, item))
        else:
            old_item = old[key]
            if isinstance(item, dict) and isinstance(old_item, dict):
                _walk(old_item, item, (*path, key), item_schema(schema, key), item, out)
            else:
                _walk(old_item, item, (*path, key), item_schema(schema, key), new, out)


def _moved(before: list, after: list) -> list:
    """The keys that changed place: those outside a longest run kept in the same relative order."""
    if before == after:
        return []
    index = {k: i for i, k in enumerate(before)}
    seq = [index[k] for k in after]
    # longest increasing subsequence (n is small: a program's tiers or rewards)
    best: list[list[int]] = []
    for i, value in enumerate(seq):
        chain = max((c for c in best if seq[c[-1]] < value), key=len, default=[])
        best.append([*chain, i])
    keep = {after[i] for i in max(best, key=len)}
    return [k for k in after if k not in keep]


def facts(program: Program | dict) -> list[Change]:
    """Every field of one document as a change from nothing (kind ``changed``, ``old`` None), in order:
    what the version's summary in words lists. Items of keyed lists and maps come one by one."""
    out: list[Change] = []
    _facts(as_document(program), (), "", {}, out)
    return out


def _facts(value: Any, path: tuple, schema: str, owner: dict, out: list[Change]) -> None:
    if isinstance(value, dict) and not _is_text(value):
        if schema in MAPS:
            for key, item in value.items():
                _facts(item, (*path, key), item_schema(schema, key), value if not isinstance(item, dict) else item,
                       out)
            return
        for key, item in value.items():
            _facts(item, (*path, key), _join(schema, key), value, out)
        return
    if isinstance(value, list):
        key_field = list_key_field(schema, value, value)
        if key_field is not None:
            for key, item in _keyed(value, key_field).items():
                _facts(item, (*path, key), item_schema(schema, key), item, out)
            return
    out.append(Change("changed", path, schema, None, value, owner))


def lookup(document: dict, path: tuple) -> Any:
    """The value at ``path`` (as a `Change` names it) in a full document, or None."""
    value: Any = document
    schema = ""
    for key in path:
        if isinstance(value, list):
            key_field = list_key_field(schema, value, value)
            value = _keyed(value, key_field).get(key) if key_field else None
            schema = item_schema(schema, str(key))
        elif isinstance(value, dict):
            value = value.get(key)
            schema = item_schema(schema, str(key)) if schema in MAPS else _join(schema, str(key))
        else:
            return None
    return value


def schema_paths(model: type = Program, prefix: str = "") -> list[str]:
    """Every field path of the `Program` model as the diff names them (lists and maps ``*``, unions by kind)."""
    from types import UnionType
    from typing import Annotated, Literal, Union, get_args, get_origin

    from pydantic import BaseModel

    paths: list[str] = []

    def models_in(annotation) -> list:
        origin = get_origin(annotation)
        if origin is Annotated:
            return models_in(get_args(annotation)[0])
        if origin in (Union, UnionType):
            return [m for arg in get_args(annotation) for m in models_in(arg)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return []

    def visit(annotation, path: str) -> None:
        origin = get_origin(annotation)
        if origin is Annotated:
            visit(get_args(annotation)[0], path)
            return
        if origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            modelled = [m for a in members for m in models_in(a)]
            if len(modelled) > 1:  # a discriminated union: one branch per kind
                for member in modelled:
                    kind = get_args(member.model_fields["kind"].annotation)[0]
                    base = path.rsplit(".", 1)[0]
                    paths.append(_join(base, kind))
                    for name, info in member.model_fields.items():
                        visit(info.annotation, _join(_join(base, kind), name))
                return
            for member in members:
                visit(member, path)
            return
        if origin is list:
            paths.append(path)
            items = [m for m in models_in(get_args(annotation)[0]) if set(m.model_fields) - {"zh_CN", "en"}]
            if items:  # lists of scalars and texts are values; lists of objects have items
                visit(get_args(annotation)[0], _join(path, "*"))
            return
        if origin is dict:
            paths.append(path)
            visit(get_args(annotation)[1], _join(path, "*"))
            return
        if origin is Literal or not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            paths.append(path)
            return
        if set(annotation.model_fields) <= {"zh_CN", "en"}:  # a localized text is one value
            paths.append(path)
            return
        if path:
            paths.append(path)
        for name, info in annotation.model_fields.items():
            visit(info.annotation, _join(path, name))

    visit(model, prefix)
    return list(dict.fromkeys(p for p in paths if p))
