"""Inventory errors name the file, the field path and the fix, in one line each; valid inventories round-trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.errors import EmptyInventoryError, InventoryError
from verifiers.inventory import load_inventory, parse_inventory

GOOD: dict[str, Any] = {"name": "chinook", "kind": "postgres", "rto": "15m", "rpo": "30d",
                        "source": {"type": "file", "path": "snapshots/chinook-*.dump"}}


def error_for(store: dict[str, Any]) -> str:
    with pytest.raises(InventoryError) as info:
        parse_inventory({"stores": [store]}, Path("inv.toml"))
    return info.value.describe()


def test_the_documented_shape_validates() -> None:
    inventory = parse_inventory({"stores": [GOOD]}, Path("/etc/rp/inventory.toml"))
    store = inventory.stores[0]
    assert (store.rto, store.rpo, store.suite_name) == (900, 2592000, "rds")
    assert inventory.base_dir == Path("/etc/rp")
    assert store.sandbox.type == "local"


@pytest.mark.parametrize(("change", "expected"), [
    ({"rto": "15 minutes"}, "inv.toml: stores[0].rto: invalid duration '15 minutes': write a number and a unit"),
    ({"kind": "cassandra"}, "inv.toml: stores[0].kind: unsupported value 'cassandra'; use one of 'postgres'"),
    ({"source": {"type": "s4", "path": "x"}}, "inv.toml: stores[0].source.type: unsupported value 's4'"),
    ({"source": {"type": "file"}}, "inv.toml: stores[0].source.path: required field is missing; add it"),
    ({"sourcee": 1}, "inv.toml: stores[0].sourcee: unknown field; check its spelling"),
    ({"name": "has space"}, "inv.toml: stores[0].name: String should match pattern"),
    ({"row_count_tolerance": 2}, "inv.toml: stores[0].row_count_tolerance: Input should be less than or equal to 1"),
    ({"assertions": [{"name": "a", "sql": "SELECT 1"}]},
     "inv.toml: stores[0].assertions[0]: an assertion needs `expect`, `min` or `max`"),
    ({"sandbox": "podman"},
     "inv.toml: stores[0].sandbox.type: unsupported value 'podman'; use one of 'local', 'docker', 'external'"),
])
def test_errors_name_the_field_and_the_fix(change: dict[str, Any], expected: str) -> None:
    assert error_for({**GOOD, **change}).startswith(expected)


def test_missing_required_field() -> None:
    store = dict(GOOD)
    del store["rpo"]
    assert error_for(store) == "inv.toml: stores[0].rpo: required field is missing; add it"


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(InventoryError) as info:
        parse_inventory({"stores": [GOOD, GOOD]}, Path("inv.toml"))
    assert info.value.describe() == ("inv.toml: stores[1].name: duplicate store name 'chinook' (also stores[0]); "
                                     "names must be unique")


# stores[1] has a field error, stores[3] repeats stores[0]'s name, stores[4] repeats the broken store's name
ONE_PASS = """\
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "a/*.dump" }

[[stores]]
name = "billing"
kind = "postgres"
rto = "soon"
rpo = "1d"
source = { type = "file", path = "b/*.dump" }

[[stores]]
name = "cache"
kind = "redis"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "c/*.rdb" }

[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "d/*.dump" }

[[stores]]
name = "billing"
kind = "redis"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "e/*.rdb" }
"""


def test_field_errors_and_duplicate_names_come_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(ONE_PASS, encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.describe().splitlines() == [
        f"{path}: stores[1].rto: invalid duration 'soon': write a number and a unit, e.g. \"90s\", \"15m\", \"4h\", "
        '"30d" or "1h30m", or an ISO 8601 duration such as "PT4H" or "P30D"',
        f"{path}: stores[3].name: duplicate store name 'saas' (also stores[0]); names must be unique",
        f"{path}: stores[4].name: duplicate store name 'billing' (also stores[1]); names must be unique",
    ]


@pytest.mark.parametrize("command", ["inventory", "verify"])
def test_the_cli_prints_every_problem_and_fails(command: str, tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(ONE_PASS, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "verifiers.cli", command, "--inventory", str(path),
                           *(["--reports-dir", str(tmp_path / "reports")] if command == "verify" else [])],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 2, done
    assert f"{path}: stores[1].rto: invalid duration 'soon'" in done.stderr
    assert f"{path}: stores[3].name: duplicate store name 'saas' (also stores[0])" in done.stderr
    assert not (tmp_path / "reports").exists()  # refused before any store was touched


def test_file_problems_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="does not exist — pass --inventory PATH"):
        load_inventory(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[stores]\nname = 1\n")
    with pytest.raises(InventoryError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_inventory(bad)


def test_select_by_suite_and_name() -> None:
    other = {**GOOD, "name": "billing", "suite": "aurora"}
    inventory = parse_inventory({"stores": [GOOD, other]}, Path("inv.toml"))
    assert [s.name for s in inventory.select(suite="rds")] == ["chinook"]
    assert [s.name for s in inventory.select(names=["billing"])] == ["billing"]
    with pytest.raises(InventoryError, match="no store named nope"):
        inventory.select(names=["nope"])


durations = st.sampled_from(["90s", "15m", "4h", "30d", "1h30m"])
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(name=names, rto=durations, rpo=durations, tolerance=st.floats(0, 1), include=st.lists(st.text(min_size=1)))
def test_valid_stores_round_trip(name: str, rto: str, rpo: str, tolerance: float, include: list[str]) -> None:
    raw = {**GOOD, "name": name, "rto": rto, "rpo": rpo, "row_count_tolerance": tolerance,
           "tables": {"include": include or ["*"]}}
    store = parse_inventory({"stores": [raw]}, Path("inv.toml")).stores[0]
    again = parse_inventory({"stores": [store.model_dump()]}, Path("inv.toml")).stores[0]
    assert again == store


@given(st.dictionaries(st.sampled_from(["rto", "rpo", "kind", "source", "name", "jobs", "tables"]),
                       st.one_of(st.integers(), st.text(), st.none(), st.lists(st.integers()))))
def test_invalid_fields_never_escape_as_tracebacks(junk: dict[str, Any]) -> None:
    try:
        parse_inventory({"stores": [{**GOOD, **junk}]}, Path("inv.toml"))
    except InventoryError as exc:
        lines = exc.describe().splitlines()
        assert all(line.startswith("inv.toml: stores[0]") for line in lines)


@pytest.mark.parametrize("text", ["", "stores = []\n", "# [[stores]]\n# name = \"app\"\n"])
def test_an_inventory_that_lists_no_store_says_so_and_how_to_add_one(tmp_path: Path, text: str) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    with pytest.raises(EmptyInventoryError) as raised:
        load_inventory(path)
    assert raised.value.message == f"{path}: lists no store yet"
    assert "[[stores]]" in (raised.value.hint or "")


def test_an_empty_inventory_with_a_stray_key_names_the_key() -> None:
    with pytest.raises(InventoryError) as raised:
        parse_inventory({"store": []}, Path("inv.toml"))
    assert not isinstance(raised.value, EmptyInventoryError)
    assert "store" in str(raised.value)
