"""The controller's side of an xdist run (verifiers/plugin/distributed.py) without starting workers: outcomes merged in
collection order whatever order workers finish in, and a store lost with a crashed worker becomes an error."""

from __future__ import annotations

import pickle
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from verifiers.evidence import RunInfo
from verifiers.inventory import parse_inventory
from verifiers.plugin import RestoreRun, Settings
from verifiers.plugin.distributed import OUTCOMES_OUTPUT, ControllerMerge, _pickled
from verifiers.plugin.session import store_of
from verifiers.runner import StoreOutcome
from verifiers.timing import RestoreTimer

NAMES = ("alpha", "bravo", "charlie")


@pytest.fixture
def state(tmp_path: Path) -> RestoreRun:
    stores = [{"name": n, "kind": "redis", "rto": "5m", "rpo": "1d", "source": {"type": "file", "path": f"{n}-*.rdb"}}
              for n in NAMES]
    inventory = parse_inventory({"stores": stores}, tmp_path / "inventory.toml")
    settings = Settings(inventory=tmp_path / "inventory.toml", reports_dir=tmp_path, suite=None, stores=(),
                        work_dir=None, signing_key=None)
    run = RestoreRun(settings=settings, run=RunInfo.new(tmp_path, datetime(2026, 11, 1, tzinfo=UTC)),
                     project_dir=tmp_path)
    run.inventory = inventory
    return run


def outcome(state: RestoreRun, name: str) -> StoreOutcome:
    store = next(s for s in state.load().stores if s.name == name)
    return StoreOutcome(store=store, status="passed", checks=[], timer=RestoreTimer())


def node(worker: str, outcomes: list[tuple[str, int, StoreOutcome]] | None) -> Any:
    output = None if outcomes is None else {OUTCOMES_OUTPUT: [(k, p, pickle.dumps(o)) for k, p, o in outcomes]}
    return SimpleNamespace(workeroutput=output, gateway=SimpleNamespace(id=worker))


def ids() -> list[str]:
    return [f"suites/redis/test_redis.py::test_restore[{n}:{check}:x]" for n in NAMES for check in ("a", "b")]


def test_outcomes_are_ordered_as_collected_not_as_workers_finish(state: RestoreRun) -> None:
    merge = ControllerMerge(state)
    merge.pytest_xdist_node_collection_finished(node("gw0", None), ids())
    merge.pytest_testnodedown(node("gw1", [("charlie", 4, outcome(state, "charlie"))]), None)
    merge.pytest_testnodedown(node("gw0", [("bravo", 2, outcome(state, "bravo")),
                                           ("alpha", 0, outcome(state, "alpha"))]), None)
    merge.pytest_sessionfinish(SimpleNamespace())  # type: ignore[arg-type]
    assert list(state.outcomes) == ["alpha", "bravo", "charlie"]
    assert all(o.status == "passed" for o in state.outcomes.values())


def test_a_store_lost_with_its_crashed_worker_is_an_error(state: RestoreRun) -> None:
    merge = ControllerMerge(state)
    merge.pytest_xdist_node_collection_finished(node("gw0", None), ids())
    merge.pytest_testnodedown(node("gw0", [("alpha", 0, outcome(state, "alpha")),
                                           ("charlie", 4, outcome(state, "charlie"))]), None)
    merge.pytest_testnodedown(node("gw1", None), "worker 'gw1' crashed while running 'bravo'")
    merge.pytest_sessionfinish(SimpleNamespace())  # type: ignore[arg-type]
    assert list(state.outcomes) == ["alpha", "bravo", "charlie"]
    lost = state.outcomes["bravo"]
    assert lost.status == "error" and lost.error is not None
    assert "gw1" in lost.error["message"] and "--store bravo -n 0" in lost.error["message"]


def test_store_of_ignores_items_that_are_not_restore_checks() -> None:
    assert store_of("suites/redis/test_redis.py::test_restore[alpha:digest:db0]") == "alpha"
    assert store_of("suites/rds/test_rds.py::test_restore[kv.b_1:assertion:a::b[c]]") == "kv.b_1"
    assert store_of("tests/unit/test_x.py::test_case[param]") is None


def test_an_outcome_that_will_not_pickle_arrives_as_an_error_of_its_store(state: RestoreRun) -> None:
    odd = outcome(state, "alpha")
    odd.sandbox = {"handle": threading.Lock()}  # type: ignore[dict-item]
    sent: StoreOutcome = pickle.loads(_pickled(odd))  # noqa: S301 - bytes made just above
    assert (sent.store.name, sent.status) == ("alpha", "error")
    assert sent.error is not None and "-n 0" in sent.error["message"]
