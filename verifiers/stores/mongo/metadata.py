"""Collection metadata (options, validator, indexes) in two forms: the specs to recreate it in a sandbox from a
dump's `.metadata.json`, and a comparable definition per index and option to detect drift.

Comparison form: each index as `{key: [[field, direction], ...], <options sorted>}` (key order kept: it is
the index; `v` and `ns` dropped: the server chooses the version and `ns` is gone since 4.4), each collection
option as its value with keys sorted. Numbers are normalised (an Int64 or a whole double becomes an integer)
because the same `{a: 1}` reaches the server as int32 from pymongo and as double from older shells; values
never come from documents, so nothing here is row content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bson import json_util
from bson.int64 import Int64

from verifiers.stores.mongo.archive import CollectionEntry

# Collection options the create command takes; anything else in a dump's options is reported, not applied.
CREATE_OPTIONS = frozenset({
    "capped", "size", "max", "validator", "validationLevel", "validationAction", "collation", "storageEngine",
    "indexOptionDefaults", "viewOn", "pipeline", "timeseries", "expireAfterSeconds", "clusteredIndex",
    "changeStreamPreAndPostImages", "encryptedFields",
})
_INDEX_DROPPED = frozenset({"v", "ns"})


def normalise(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Int64):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    return value


def _text(value: Any) -> str:
    return json_util.dumps(value, sort_keys=True, json_options=json_util.RELAXED_JSON_OPTIONS)


def listed_type(info: Mapping[str, Any]) -> str:
    """A listCollections entry's type. An entry with a `viewOn` option is a view whatever its `type` says:
    MongoDB accepts that option only when creating a view, and mongoeco 4.11 lists its views as "collection"
    (issue 26). Read as a collection, a view would be dumped, hashed and counted as data (on mongoeco: as an
    empty collection), so a backup would claim documents it never held and a restore would pass silently."""
    kind = str(info.get("type", "collection"))
    if kind == "collection" and "viewOn" in (info.get("options") or {}):
        return "view"
    return kind


def index_definition(index: Mapping[str, Any]) -> str:
    key = index.get("key") or {}
    pairs = [[str(field), normalise(direction)] for field, direction in dict(key).items()]
    rest = {k: normalise(v) for k, v in index.items() if k not in _INDEX_DROPPED | {"key", "name"}}
    _drop_idle_unique(rest, str(index.get("name", "")))
    return _text({"key": pairs, **rest})


def _drop_idle_unique(spec: dict[str, Any], name: str) -> bool:
    """Drop what `unique` says without changing the index: false (the default) on any index, true on `_id_` (unique
    by definition); mongoeco 4.11 lists both, mongod neither unless asked with it (issue 26). Whether it did."""
    if spec.get("unique") is False or (spec.get("unique") is True and name == "_id_"):
        del spec["unique"]
        return True
    return False


def current_form(defined: Mapping[str, str]) -> dict[str, str]:
    """A manifest's definitions as index_definition writes them today: a manifest written before the idle `unique`
    was dropped (an index created with `unique: false`, as some ODMs do) would otherwise differ from the same
    index measured now. Only a definition that changes is re-written."""
    current = dict(defined)
    for label, text in defined.items():
        if label.startswith("index ") and '"unique"' in text:
            spec = json_util.loads(text, json_options=json_util.RELAXED_JSON_OPTIONS)
            if isinstance(spec, dict) and _drop_idle_unique(spec, label.removeprefix("index ")):
                current[label] = _text(spec)
    return current


def definitions(kind: str, options: Mapping[str, Any], indexes: list[dict[str, Any]]) -> dict[str, str]:
    """`type`, `index NAME` and `option KEY` -> comparable text (checks.schema names each difference)."""
    found = {"type": kind}
    for index in indexes:
        found[f"index {index.get('name', '?')}"] = index_definition(index)
    for key, value in options.items():
        found[f"option {key}"] = _text(normalise(value))
    return found


def dump_definitions(entry: CollectionEntry) -> dict[str, str]:
    return definitions(entry.type, entry.options, entry.indexes)


def create_options(entry: CollectionEntry) -> dict[str, Any]:
    """Options for the `create` command from the dump's metadata, with the dump's own values and types (as
    mongorestore sends them)."""
    return {k: v for k, v in entry.options.items() if k in CREATE_OPTIONS}


def index_specs(entry: CollectionEntry) -> list[dict[str, Any]]:
    """`createIndexes` specs: every index but the automatic `_id_`, without `v` and `ns`."""
    specs = []
    for index in entry.indexes:
        if index.get("name") == "_id_":
            continue  # the server creates it with the collection (clustered collections declare theirs)
        specs.append({k: v for k, v in index.items() if k not in _INDEX_DROPPED})
    return specs
