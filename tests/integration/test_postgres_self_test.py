"""Each run proves its checks can fail (issue 21, the self-test): on a passing restore a removed row, a changed
value and a dropped index are each detected and rolled back; a check made blind is caught as one that cannot
fail, failing the store; a store whose checks already failed has nothing to prove."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import failed, verify
from verifiers.checks import CheckResult
from verifiers.runner import StoreOutcome
from verifiers.stores.postgres import corruption, self_test
from verifiers.stores.self_test import CHECK as SELF_TEST

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]


def results(outcome: StoreOutcome) -> dict[str, CheckResult]:
    return {c.subject: c for c in outcome.checks if c.check == SELF_TEST}


def test_each_change_is_detected_and_rolled_back(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", self_test=True, amcheck=True)
    assert outcome.status == "passed", failed(outcome)
    found = results(outcome)
    assert set(found) == {"row removed", "value changed", "index dropped"}
    row, value, index = found["row removed"], found["value changed"], found["index dropped"]
    assert row.passed and row.observed == "detected by row_count, checksum"
    assert value.passed and value.observed == "detected by checksum"
    assert index.passed and index.observed == "detected by schema"
    assert "(rolled back)" in row.message and "public.events" in row.message
    # rolled back: amcheck, after the self-test, still finds every index, the dropped one included
    plain = verify(backup_dir, "saas-*.dump", amcheck=True)
    [before] = [c.observed for c in plain.checks if c.check == corruption.CHECK]
    [after] = [c.observed for c in outcome.checks if c.check == corruption.CHECK]
    assert after == before


def test_a_blind_check_fails_the_store(backup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checksum that no longer sees changes (here: the self-test's measurement answers with the manifest's own
    count and checksum) is a check that cannot fail: the self-test says so and the store fails."""
    manifest = json.loads(next(backup_dir.glob("*.manifest.json")).read_text())
    captured = manifest["facts"]["tables"]

    def blind(_conn: object, schema: str, table: str, _method: str = "text") -> tuple[int, str]:
        facts = captured[f"{schema}.{table}"]
        return facts["rows"], facts["checksum"]

    monkeypatch.setattr(self_test, "table_checksum", blind)
    outcome = verify(backup_dir, "saas-*.dump", self_test=True)
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert set(problems) == {"self_test:row removed", "self_test:value changed"}, problems
    assert "these checks cannot fail on this store" in problems["self_test:row removed"]
    assert results(outcome)["index dropped"].passed


def test_nothing_to_prove_when_the_checks_already_failed(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("SET session_replication_role = replica",
                            "UPDATE billing.invoices SET amount = amount + 0.0001 WHERE id = 1500")
    outcome = verify(artifact.parent, artifact.name, self_test=True)
    assert set(failed(outcome)) == {"checksum:billing.invoices"}
    for check in results(outcome).values():
        assert not check.compared
        assert "did not all pass" in check.message
