"""The inventory's [[services]]: each names stores of the inventory and a service-level RTO; a wrong one is an
inventory error naming the service, the store and the fix, reported with the stores' own problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers.cli import main
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory


def store(name: str) -> dict[str, Any]:
    return {"name": name, "kind": "postgres", "rto": "15m", "rpo": "30d",
            "source": {"type": "file", "path": f"snapshots/{name}-*.dump"}}


STORES = [store("saas"), store("billing"), store("audit")]


def problems(*services: dict[str, Any], stores: list[dict[str, Any]] = STORES) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory({"stores": stores, "services": list(services)}, Path("inv.toml"))
    return info.value.describe().splitlines()


def test_a_service_names_its_stores_and_its_rto() -> None:
    inventory = parse_inventory({"stores": STORES, "services": [
        {"name": "checkout", "stores": ["saas", "billing"], "rto": "PT4H", "owner": "payments"},
        {"name": "reporting", "stores": ["billing", "audit"], "rto": "1h", "description": "monthly reports"},
    ]}, Path("inv.toml"))
    checkout, reporting = inventory.services
    assert (checkout.stores, checkout.rto, checkout.owner) == (["saas", "billing"], 4 * 3600, "payments")
    assert (reporting.rto, reporting.owner, reporting.description) == (3600, None, "monthly reports")
    assert inventory.service("reporting") is reporting  # billing belongs to both


def test_an_inventory_without_services_still_validates() -> None:
    assert parse_inventory({"stores": STORES}, Path("inv.toml")).services == []


def test_an_unknown_store_names_the_service_the_store_and_the_stores_there_are() -> None:
    assert problems({"name": "checkout", "stores": ["saas", "payments"], "rto": "4h"}) == [
        "inv.toml: services[0].stores[1]: service 'checkout' names store 'payments', which is not in the inventory; "
        "name one of its stores (audit, billing, saas) or add a [[stores]] table for it"]


@pytest.mark.parametrize(("service", "expected"), [
    ({"name": "checkout", "stores": [], "rto": "4h"}, "inv.toml: services[0].stores: List should have at least 1"),
    ({"name": "checkout", "rto": "4h"}, "inv.toml: services[0].stores: required field is missing; add it"),
    ({"name": "checkout", "stores": ["saas"]}, "inv.toml: services[0].rto: required field is missing; add it"),
    ({"name": "checkout", "stores": ["saas"], "rto": "4 hours"}, "inv.toml: services[0].rto: invalid duration"),
    ({"name": "checkout", "stores": ["saas", "saas"], "rto": "4h"},
     "inv.toml: services[0].stores: store 'saas' listed more than once; list each store once"),
    ({"name": "check out", "stores": ["saas"], "rto": "4h"}, "inv.toml: services[0].name: String should match"),
    ({"name": "checkout", "stores": ["saas"], "rto": "4h", "ownr": "x"},
     "inv.toml: services[0].ownr: unknown field; check its spelling"),
])
def test_a_bad_service_names_the_field_and_the_fix(service: dict[str, Any], expected: str) -> None:
    (line,) = problems(service)
    assert line.startswith(expected), line


def test_a_service_name_used_twice_is_refused() -> None:
    one = {"name": "checkout", "stores": ["saas"], "rto": "4h"}
    assert problems(one, one) == ["inv.toml: services[1].name: duplicate service name 'checkout' (also services[0]); "
                                  "names must be unique"]


def test_service_problems_come_after_the_stores_problems_in_one_pass() -> None:
    bad_store = {**store("billing"), "rto": "soon"}
    lines = problems({"name": "checkout", "stores": ["nope"], "rto": "4h"}, stores=[store("saas"), bad_store])
    assert [line.split(":")[1].strip() for line in lines] == ["stores[1].rto", "services[0].stores[0]"]


def test_an_unknown_service_names_the_services_there_are() -> None:
    inventory = parse_inventory({"stores": STORES, "services": [
        {"name": "checkout", "stores": ["saas"], "rto": "4h"}, {"name": "reporting", "stores": ["audit"], "rto": "4h"},
    ]}, Path("inv.toml"))
    with pytest.raises(InventoryError, match=r"inv.toml: no service named 'payroll' — its services: checkout, "
                                             r"reporting"):
        inventory.service("payroll")
    empty = parse_inventory({"stores": STORES}, Path("inv.toml"))
    with pytest.raises(InventoryError, match=r"it lists no service yet: add a \[\[services\]\] table"):
        empty.service("checkout")


# Small values: what matters is their types and shapes, and big ones made input generation slow enough to fail
# Hypothesis's health check now and then.
SMALL_TEXT = st.text(max_size=8)
SERVICE_JUNK = st.dictionaries(st.sampled_from(["name", "stores", "rto", "owner"]),
                               st.one_of(st.integers(), SMALL_TEXT, st.none(),
                                         st.lists(SMALL_TEXT | st.integers(), max_size=4)))


@settings(max_examples=60, deadline=None)
@given(st.none() | st.integers() | st.lists(st.none(), max_size=3) | st.lists(SERVICE_JUNK, max_size=4))
def test_junk_services_are_inventory_errors_never_tracebacks(junk: Any) -> None:
    try:
        parse_inventory({"stores": STORES, "services": junk}, Path("inv.toml"))
    except InventoryError as exc:
        lines = exc.describe().splitlines()
        assert all(line.startswith("inv.toml: services") for line in lines)


INVENTORY = """
[[stores]]
name = "orders"
kind = "postgres"
rto = "1h"
rpo = "1d"
source = { type = "file", path = "orders-*.dump" }

[[stores]]
name = "sessions"
kind = "redis"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "sessions-*.rdb" }

[[services]]
name = "checkout"
stores = ["orders", "sessions"]
rto = "4h"
owner = "payments"

[[services]]
name = "reporting"
stores = ["orders"]
rto = "PT90M"
"""


def test_the_inventory_command_lists_the_services_with_their_stores_and_rto(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    assert main(["inventory", "--inventory", str(path)]) == 1  # the stores have no backup: listed all the same
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["orders", "sessions", "checkout", "reporting"]
    assert lines[2:] == ["checkout (service, RTO 4h00m, owner payments): orders, sessions",
                         "reporting (service, RTO 1h30m): orders"]
    assert main(["inventory", "--inventory", str(path), "--json"]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in shown["stores"]] == ["orders", "sessions"]
    assert shown["services"] == [
        {"name": "checkout", "stores": ["orders", "sessions"], "rto_seconds": 14400.0, "owner": "payments",
         "description": None},
        {"name": "reporting", "stores": ["orders"], "rto_seconds": 5400.0, "owner": None, "description": None}]
