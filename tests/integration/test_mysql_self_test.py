"""Each run proves its checks can fail, for MySQL / MariaDB (issue 21): on a passing restore a removed row and a
changed value are each detected and rolled back; a blinded checksum is caught as a check that cannot fail; a store
whose checks already failed has nothing to prove."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import failed
from tests.mysql_support import mysql_verify
from verifiers.checks import CheckResult
from verifiers.runner import StoreOutcome
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql import self_test as mysql_self_test
from verifiers.stores.self_test import CHECK as SELF_TEST

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]


def results(outcome: StoreOutcome) -> dict[str, CheckResult]:
    return {c.subject: c for c in outcome.checks if c.check == SELF_TEST}


def test_each_change_is_detected_and_rolled_back(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql.gz", self_test=True, check_table=True)
    assert outcome.status == "passed", failed(outcome)
    found = results(outcome)
    assert set(found) == {"row removed", "value changed"}
    assert found["row removed"].observed == "detected by row_count, checksum", found["row removed"].message
    assert found["value changed"].observed == "detected by checksum", found["value changed"].message
    assert "(rolled back)" in found["row removed"].message
    # rolled back: CHECK TABLE, after the self-test, still finds every table sound
    [check] = [c for c in outcome.checks if c.check == corruption.CHECK]
    assert check.passed and check.compared


def test_a_blind_checksum_fails_the_store(mysql_backup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = json.loads(next(mysql_backup_dir.glob("*.manifest.json")).read_text())
    captured = manifest["facts"]["tables"]

    def blind(_cur: object, _database: str, table: str, _columns: object) -> tuple[int, str]:
        facts = captured[f"{manifest['database']}.{table}"]
        return facts["rows"], facts["checksum"]

    monkeypatch.setattr(mysql_self_test, "_checksum", blind)
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql.gz", self_test=True)
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"self_test:row removed", "self_test:value changed"}
    assert "these checks cannot fail on this store" in failed(outcome)["self_test:value changed"]


def test_nothing_to_prove_when_the_checks_already_failed(mysql_variant: Callable[..., Path]) -> None:
    artifact = mysql_variant("UPDATE users SET nickname = 'changed' WHERE id = 3")
    outcome = mysql_verify(artifact.parent, artifact.name, self_test=True)
    assert outcome.status == "failed"
    for check in results(outcome).values():
        assert not check.compared and "did not all pass" in check.message
