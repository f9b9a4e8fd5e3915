"""Invalid field combinations for every store kind and source type (hypothesis): each is refused with one line
per problem, each line naming the file and the field path — never a traceback, never accepted.

(Damaged TOML text, for a postgres store: test_postgres_faults.py.)"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers.errors import InventoryError
from verifiers.inventory import load_inventory

TEMPLATES: dict[str, dict[str, Any]] = {
    "postgres-file": {"kind": "postgres", "source": {"type": "file", "path": "b/*.dump"}},
    "postgres-rds": {"kind": "postgres", "source": {"type": "rds-snapshot", "instance": "app-prod",
                                                     "manifest": "m.json"}},
    "redis-file": {"kind": "redis", "source": {"type": "file", "path": "b/*.rdb"}},
    "mysql-s3": {"kind": "mysql", "source": {"type": "s3", "bucket": "acme-backups", "pattern": "shop-*.sql.gz"}},
    "s3-bucket": {"kind": "s3", "source": {"type": "s3-bucket", "bucket": "acme-exports", "manifest": "m.json"}},
    "dynamodb-backup": {"kind": "dynamodb", "source": {"type": "dynamodb-backup", "table": "orders",
                                                       "manifest": "m.json"}},
}
# the source types a kind does not restore
FOREIGN_SOURCES = {
    "postgres": [{"type": "s3-bucket", "bucket": "acme", "manifest": "m"}],
    "redis": [{"type": "rds-snapshot", "instance": "x"},
              {"type": "dynamodb-backup", "table": "orders", "manifest": "m"}],
    "mysql": [{"type": "s3-bucket", "bucket": "acme", "manifest": "m"},
              {"type": "dynamodb-backup", "table": "orders", "manifest": "m"}],
    "s3": [{"type": "file", "path": "x"}, {"type": "s3", "bucket": "acme"}],
    "dynamodb": [{"type": "file", "path": "x"}, {"type": "s3-bucket", "bucket": "acme", "manifest": "m"}],
}
ASSERTION = [{"name": "a", "sql": "SELECT 1", "expect": 1}]
Mutation = Callable[[dict[str, Any]], str]  # changes the store in place, returns the field path it must name


def setting(key: str, value: Any, path: str | None = None) -> Mutation:
    def mutate(store: dict[str, Any]) -> str:
        store[key] = value
        return path or f"stores[0].{key}"
    return mutate


def source_setting(key: str, value: Any, path: str | None = None) -> Mutation:
    def mutate(store: dict[str, Any]) -> str:
        store["source"][key] = value
        return path or f"stores[0].source.{key}"
    return mutate


def mutations_for(template: str, draw: st.DrawFn) -> list[Mutation]:
    kind = TEMPLATES[template]["kind"]
    word = draw(st.from_regex(r"[a-z][a-z_]{2,10}", fullmatch=True))
    found: list[Mutation] = [
        setting("rto", draw(st.sampled_from(["soon", "-5m", "", "15 minutes", "1x"]))),
        setting("rpo", draw(st.sampled_from([[], {"d": 1}, "yesterday"]))),
        setting("restore_timeout", "never"),
        setting("name", draw(st.sampled_from(["has space", "", "-lead", "a/b", "x" * 70]))),
        setting(f"zz_{word}", 1),
        source_setting(f"zz_{word}", "x"),
        setting("sandbox", {"type": "local", "start_timeout": "later"}, "stores[0].sandbox.start_timeout"),
        setting("source", draw(st.sampled_from(FOREIGN_SOURCES[kind])), "stores[0]"),
    ]
    if kind in ("redis", "s3", "dynamodb"):
        found.append(setting("assertions", ASSERTION, "stores[0]"))
    if kind == "redis":
        found += [setting("keys", [{"pattern": "s:*", "min": 3, "max": 1}], "stores[0].keys[0]"),
                  setting("databases", ["zero"], "stores[0].databases[0]")]
    if kind in ("postgres", "mysql"):
        found += [setting("row_count_tolerance", draw(st.sampled_from([2, -0.1, "some"]))),
                  setting("tables", {"include": "public.*"}, "stores[0].tables.include")]
    if template == "postgres-file":
        found.append(setting("jobs", draw(st.sampled_from([0, 65, "all"]))))
    if template == "postgres-rds":
        found += [source_setting("cluster", "app-aurora", "stores[0].source"),
                  source_setting("include", ["nightly"], "stores[0].source.include[0]")]
    if kind == "s3":
        found += [setting("sample", draw(st.sampled_from([0, 5000]))), source_setting("bucket", "ab")]
    if kind == "dynamodb":
        found += [source_setting("table", "ab"), source_setting("include", ["weekly"], "stores[0].source.include[0]")]
    if template == "mysql-s3":
        found.append(source_setting("bucket", "x" * 64))
    return found


def toml_value(value: Any) -> str:
    """TOML for the plain values used here (strings are JSON-escaped, which TOML's basic strings accept)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@st.composite
def broken_inventories(draw: st.DrawFn) -> tuple[str, str]:
    """A valid store of some kind and source, then one invalid field or combination; the path it must name."""
    template = draw(st.sampled_from(sorted(TEMPLATES)))
    store: dict[str, Any] = {"name": "store-1", "rto": "15m", "rpo": "1d",
                             **json.loads(json.dumps(TEMPLATES[template]))}  # a deep copy
    path = draw(st.sampled_from(mutations_for(template, draw)))(store)
    lines = ["[[stores]]"] + [f"{k} = {toml_value(v)}" for k, v in store.items()]
    return "\n".join(lines) + "\n", path


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_is_valid_before_it_is_broken(template: str, tmp_path: Path) -> None:
    store = {"name": "store-1", "rto": "15m", "rpo": "1d", **TEMPLATES[template]}
    (tmp_path / "inventory.toml").write_text("[[stores]]\n" + "\n".join(f"{k} = {toml_value(v)}"
                                                                         for k, v in store.items()))
    assert [s.kind for s in load_inventory(tmp_path / "inventory.toml").stores] == [TEMPLATES[template]["kind"]]


@settings(max_examples=100, deadline=None)
@given(broken_inventories())
def test_invalid_field_combination_is_a_clear_error_with_its_field_path(case: tuple[str, str]) -> None:
    text, field = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InventoryError) as raised:  # never another exception: no traceback reaches the user
            load_inventory(path)
    lines = raised.value.describe().splitlines()
    assert all(line.startswith(f"{path}: stores[0]") for line in lines), lines
    assert any(line.startswith(f"{path}: {field}") for line in lines), (field, lines)
