"""The inventory reference (docs/inventory-reference.md), generated from the pydantic models that validate an
inventory, so the reference cannot drift from what is accepted: every field of every model reachable from
`Inventory`, with its type, default, limits and description.

Regenerate with `make docs` (`python -m verifiers.inventory_reference > docs/inventory-reference.md`);
tests/unit/test_inventory_reference.py fails while the committed page differs from what this renders.

Written by hand over `model_fields` rather than with a JSON-schema-to-Markdown tool: the JSON schema loses what
a reader needs here (a duration's accepted text, a field's TOML alias next to its name, the union members each
with their own table), and a tool of that kind would be one more dependency for a 150-line walk.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from verifiers.durations import format_duration
from verifiers.inventory import Inventory
from verifiers.setting_types import DURATION

HEADER = """\
# Inventory reference

Part of restoreproof's documentation: [README](../README.md) · [all pages](../README.md#documentation).

Generated from the pydantic models that validate an inventory (`make docs`; a test fails while this page
differs from them), so it lists exactly what is accepted. Examples and how the settings work together are in
[inventory.md](inventory.md) and each store kind's page. Durations are seconds or text such as `90s`, `15m`,
`4h`, `30d`, `1h30m`, or ISO 8601 (`PT4H`, `P30D`). A field without a default is required.
"""

def render(root: type[BaseModel] = Inventory) -> str:
    """The whole page: the top level, then each model in the order a reader meets it."""
    return "\n".join([HEADER, *(_section(model, top=model is root) for model in _models(root))])


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from `root`, depth-first in field order, each once."""
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for info in _fields(model):
            for nested in _nested_models(info.annotation):
                visit(nested)

    visit(root)
    return seen


def _fields(model: type[BaseModel]) -> Iterator[FieldInfo]:
    for info in model.model_fields.values():
        if not info.exclude:
            yield info


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _nested_models(arg)


def _section(model: type[BaseModel], *, top: bool) -> str:
    title = "Top level" if top else _title(model)
    lines = [f"## {title}", ""]
    doc = (model.__doc__ or "").strip()
    if doc and not top:
        lines += [" ".join(doc.split()), ""]
    suite = getattr(model, "DEFAULT_SUITE", "")
    if suite:  # a store kind: what its model's class settings allow
        sources = sorted(model.FILE_SOURCES | model.SERVICE_SOURCES)  # type: ignore[attr-defined]
        lines += [f"Default suite: `{suite}`. Source types: {', '.join(f'`{s}`' for s in sources)}.", ""]
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    for name, info in sorted(model.model_fields.items(), key=lambda item: item[0] not in ("kind", "type")):
        if info.exclude:
            continue
        key = info.alias or name
        duration = DURATION in info.metadata
        kind = "duration" if duration else _type(info.annotation)
        default = _default(info, duration=duration)
        lines.append(f"| `{key}` | {_cell(kind + _limits(info))} | {_cell(default)} "
                     f"| {_cell(info.description or '')} |")
    return "\n".join(lines) + "\n"


def _title(model: type[BaseModel]) -> str:
    kind = model.model_fields.get("kind") or model.model_fields.get("type")
    tag = get_args(kind.annotation) if kind is not None and get_origin(kind.annotation) is Literal else ()
    tag = tag if len(tag) == 1 else ()  # a tag is one value; a `type` of several (DeclaredStore's) is a field
    return f"{model.__name__} (`{'type' if 'type' in model.model_fields else 'kind'} = \"{tag[0]}\"`)" if tag \
        else model.__name__


def _anchor(model: type[BaseModel]) -> str:
    title = _title(model).lower()
    return "".join(ch for ch in title.replace(" ", "-") if ch.isalnum() or ch in "-_")


def _type(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "none"
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type(get_args(annotation)[0])
    if origin is Literal:
        return " or ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in get_args(annotation))
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        text = " or ".join(_type(a) for a in members)
        return text + (" (optional)" if len(members) < len(get_args(annotation)) else "")
    if origin is list:
        return f"list of {_type(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"table of {_type(key)} to {_type(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{_title(annotation)}](#{_anchor(annotation)})"
    if annotation is SecretStr:
        return "string (secret)"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation)).replace("AwareDatetime", "date-time with a zone")


def _limits(info: FieldInfo) -> str:
    words = {annotated_types.Ge: ("≥", "ge"), annotated_types.Gt: (">", "gt"), annotated_types.Le: ("≤", "le"),
             annotated_types.Lt: ("<", "lt"), annotated_types.MinLen: ("length ≥", "min_length"),
             annotated_types.MaxLen: ("length ≤", "max_length")}
    parts = []
    for meta in info.metadata:
        for cls, (sign, attribute) in words.items():
            if isinstance(meta, cls):
                parts.append(f"{sign} {getattr(meta, attribute)}")
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            parts.append(f"matching `{pattern}`")
    return f" ({', '.join(parts)})" if parts else ""  # after the type: "string (length ≥ 1)"


def _default(info: FieldInfo, *, duration: bool) -> str:
    if info.is_required():
        return "required"
    if duration and isinstance(info.default, int | float):
        return f'`"{format_duration(info.default)}"`'
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, BaseModel):
        fields = value.model_dump(exclude_defaults=False, by_alias=True)
        tag = fields.get("type")
        return f'`"{tag}"`' if tag is not None else "its defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list | tuple | set | frozenset):
        return f"`{_toml(list(value))}`"
    return f"`{value}`"


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
