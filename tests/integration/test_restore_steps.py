"""RTO steps on real servers (issue 21, RTO by phase): an archive is restored section by section, each section
timed as a step; the verification's first query and its full read are timed after; a plain dump or a mysqldump,
which cannot be split, says so with the reason instead of a number; the evidence carries all of it and validates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import failed, verify
from tests.mysql_support import mysql_verify
from verifiers.runner import StoreOutcome
from verifiers.stores.mysql import restore as mysql_restore
from verifiers.stores.postgres import restore as pg_restore
from verifiers.stores.postgres.local_server import PgInstallation
from verifiers.timing import RESTORE_STEPS, STEPS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "verifiers" / "evidence" / "schema" / "evidence.schema.json").read_text())
SLACK = 1.0  # seconds of a phase outside its steps: the Python between the last lap and the phase's end


def within(outcome: StoreOutcome, phase: str) -> float:
    """The seconds of `phase` its steps account for."""
    return sum(seconds for step, seconds in outcome.timer.steps.items() if STEPS[step] == phase)


def valid_evidence(outcome: StoreOutcome) -> dict[str, object]:
    record = outcome.as_evidence()
    store_schema = {**SCHEMA["properties"]["stores"]["items"], "$defs": SCHEMA["$defs"]}
    jsonschema.Draft202012Validator(store_schema).validate(record)
    rto = record["rto"]
    assert isinstance(rto, dict)
    return rto


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
@pytest.mark.parametrize("major", ["oldest", "newest"])
def test_an_archive_is_restored_and_timed_section_by_section(
        backup_dir: Path, oldest_pg: PgInstallation, newest_pg: PgInstallation, major: str) -> None:
    installation = oldest_pg if major == "oldest" else newest_pg
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "bin_dir": str(installation.bin_dir)})
    # every check passes: the three pg_restore runs restored what one would (rows, indexes, constraints, sequences)
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None and outcome.sandbox["version"] == installation.version
    steps = outcome.timer.steps
    assert list(steps) == list(STEPS)  # all five, in the order a recovery reaches them
    assert all(seconds > 0 for seconds in steps.values()), steps
    assert outcome.timer.steps_not_measured == {}
    for phase in ("restore", "verify"):  # steps lie inside their phase and, for restore, fill it
        assert within(outcome, phase) <= outcome.timer.seconds[phase]
    assert outcome.timer.seconds["restore"] - within(outcome, "restore") < SLACK
    # the RTO is still the phases' sum, the steps never added to it
    assert outcome.timer.rto_seconds == pytest.approx(sum(outcome.timer.seconds[p] for p in
                                                          ("fetch", "provision", "restore", "verify")))
    rto = valid_evidence(outcome)
    assert rto["steps"] == {step: round(seconds, 3) for step, seconds in steps.items()}
    assert rto["steps_not_measured"] == {}


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_restore_sections_off_restores_in_one_run_and_says_so(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", restore_sections=False)
    assert outcome.status == "passed", failed(outcome)
    assert list(outcome.timer.steps) == ["first_query", "warm"]
    assert outcome.timer.steps_not_measured == dict.fromkeys(RESTORE_STEPS, pg_restore.ONE_RUN_NOT_SPLIT)
    valid_evidence(outcome)


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_a_plain_dump_says_its_restore_steps_were_not_measured(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant(fmt="plain")
    outcome = verify(artifact.parent, artifact.name)
    assert outcome.status == "passed", failed(outcome)
    assert list(outcome.timer.steps) == ["first_query", "warm"]  # the verification is timed as for any dump
    assert outcome.timer.steps_not_measured == dict.fromkeys(RESTORE_STEPS, pg_restore.PLAIN_NOT_SPLIT)
    rto = valid_evidence(outcome)
    assert set(rto["steps"]) == {"first_query", "warm"}  # type: ignore[call-overload]
    assert rto["steps_not_measured"] == dict.fromkeys(RESTORE_STEPS, pg_restore.PLAIN_NOT_SPLIT)


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_a_section_with_failed_entries_is_followed_by_the_next_as_one_run_would(
        dump_variant: Callable[..., Path], newest_pg: PgInstallation) -> None:
    """pg_restore without --exit-on-error goes on past a failed entry; split into sections it still does: an
    extension the sandbox lacks fails in pre-data, and the rows and indexes are restored and timed after it."""
    if (newest_pg.bin_dir.parent / "share" / "postgresql" / "extension" / "pgcrypto.control").exists() or \
            (newest_pg.bin_dir.parent / "share" / "extension" / "pgcrypto.control").exists():
        pytest.fail(f"PostgreSQL {newest_pg.version} here has pgcrypto: this test needs an extension the source has "
                    "and the sandbox lacks; pick another one")  # a failure, not a skip: it must not pass unseen
    artifact = dump_variant("CREATE EXTENSION pgcrypto")
    outcome = verify(artifact.parent, artifact.name, sandbox={"type": "local", "bin_dir": str(newest_pg.bin_dir)})
    problems = failed(outcome)
    assert "pgcrypto" in problems["restore:restore"]
    assert not any(key.startswith(("row_count:", "checksum:", "sequence:")) for key in problems), problems
    assert list(outcome.timer.steps) == list(STEPS)
    assert outcome.timer.steps_not_measured == {}


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_a_damaged_archive_stops_where_one_run_would_and_says_which_steps_have_no_time(
        backup_dir: Path) -> None:
    dump = next(backup_dir.glob("saas-*.dump"))
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])  # the TOC reads; the data ends half-way
    outcome = verify(backup_dir, "saas-*.dump")
    assert "restore:restore" in failed(outcome)
    assert "restore_schema" in outcome.timer.steps
    stopped = "pg_restore stopped before this section ended: see the restore check"
    assert outcome.timer.steps_not_measured == {"restore_data": stopped, "restore_indexes": stopped}
    valid_evidence(outcome)


@pytest.mark.mysql
@pytest.mark.usefixtures("no_mysql_leftovers")
def test_a_mysqldump_is_not_split_and_its_verification_is_timed(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql.gz")
    assert outcome.status == "passed", failed(outcome)
    assert list(outcome.timer.steps) == ["first_query", "warm"]
    assert all(seconds > 0 for seconds in outcome.timer.steps.values())
    assert within(outcome, "verify") <= outcome.timer.seconds["verify"]
    assert outcome.timer.steps_not_measured == dict.fromkeys(RESTORE_STEPS, mysql_restore.NOT_SPLIT)
    valid_evidence(outcome)
