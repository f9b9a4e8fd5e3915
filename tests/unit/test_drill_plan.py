"""A drill's judgement (verifiers/drill.py): the service RTO is the latest store's time, compared only when every
store passed; people's text is kept as typed but one line each; how many workers restore the stores together."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from verifiers.drill import DrillInputError, DrillPlan, drill_record, findings_from_text, judge_service_rto, people_text
from verifiers.drill_command import workers_for
from verifiers.evidence import SCHEMA_PATH, run_status
from verifiers.services import Service

PLAN = DrillPlan(service=Service(name="checkout", stores=["saas", "cache", "shop"], rto=600.0),
                 participants=("Ada (IC)",), findings=(), started=datetime(2026, 12, 6, 20, 0, tzinfo=UTC),
                 started_monotonic=0.0)
ALL_PASSED = {"saas": "passed", "cache": "passed", "shop": "passed"}
READY = {"saas": 240.0, "cache": 30.5, "shop": 410.25}


def test_the_service_rto_is_the_time_until_the_last_store_was_verified() -> None:
    rto = judge_service_rto(PLAN, ALL_PASSED, READY)
    assert (rto.status, rto.seconds, rto.target_seconds) == ("met", 410.25, 600.0)
    assert rto.message == "every store verified 6m50s after the drill started: within the service's target 10m00s"


def test_over_the_target_is_missed() -> None:
    rto = judge_service_rto(PLAN, ALL_PASSED, {**READY, "cache": 601.0})
    assert (rto.status, rto.seconds) == ("missed", 601.0)
    assert "over the service's target 10m00s" in rto.message


@pytest.mark.parametrize(("statuses", "named"), [
    ({**ALL_PASSED, "shop": "failed"}, "shop failed"),
    ({**ALL_PASSED, "cache": "error"}, "cache error"),
    ({"saas": "passed", "cache": "passed"}, "shop has no result"),
])
def test_a_store_not_recovered_leaves_the_service_rto_not_compared(statuses: dict[str, str], named: str) -> None:
    rto = judge_service_rto(PLAN, statuses, READY)  # every store has a time: still no service RTO
    assert (rto.status, rto.seconds) == ("not compared", None)
    assert rto.message.startswith(f"not compared: the service was not recovered ({named})")
    record = drill_record(PLAN, statuses, READY, elapsed_seconds=500.0, mode="parallel", workers=3)
    evidence = record.as_evidence()
    assert record.passed is False and evidence["passed"] is False and evidence["service_rto_seconds"] is None
    assert evidence["rto"]["status"] == "not compared"
    check = record.as_run_check()  # compared nothing: never a pass, and the run's status follows its stores
    assert (check.check, check.subject, check.passed, check.status) == ("drill", "checkout", None, "not compared")
    assert check.observed == {"service_rto_seconds": None, "stores_passed": 2, "stores": 3}
    assert check.detail.startswith(f"DR drill of service checkout: not compared: the service was not recovered "
                                   f"({named})")


def test_a_store_without_a_time_is_not_compared() -> None:
    rto = judge_service_rto(PLAN, ALL_PASSED, {"saas": 1.0, "cache": 2.0})
    assert (rto.status, rto.message) == ("not compared", "not compared: no time was recorded for shop (target "
                                                         "10m00s)")


def test_the_record_holds_the_drill() -> None:
    record = drill_record(PLAN, ALL_PASSED, READY, elapsed_seconds=415.5, mode="parallel", workers=2).as_evidence()
    assert record == {
        "service": "checkout", "owner": None, "description": None, "stores": ["saas", "cache", "shop"],
        "participants": ["Ada (IC)"], "findings": [], "started": "2026-12-06T20:00:00Z",
        "finished": "2026-12-06T20:06:55.500000Z", "mode": "parallel", "workers": 2,
        "store_ready_seconds": {"saas": 240.0, "cache": 30.5, "shop": 410.25}, "service_rto_seconds": 410.25,
        "rto_target_seconds": 600.0, "rto": {"status": "met", "message": record["rto"]["message"]}, "passed": True}


def test_the_drills_verdict_is_a_run_check_that_a_missed_rto_fails() -> None:
    met = drill_record(PLAN, ALL_PASSED, READY, elapsed_seconds=415.5, mode="parallel", workers=2).as_run_check()
    assert (met.check, met.subject, met.passed) == ("drill", "checkout", True)
    assert met.observed == {"service_rto_seconds": 410.25, "stores_passed": 3, "stores": 3}
    assert met.expected == {"rto_target_seconds": 600.0}
    missed_record = drill_record(PLAN, ALL_PASSED, {**READY, "cache": 601.0}, elapsed_seconds=605.0,
                                 mode="sequential", workers=1)
    missed = missed_record.as_run_check()
    assert (missed_record.passed, missed.passed, missed.status) == (False, False, "failed")
    assert missed.observed["service_rto_seconds"] == 601.0 and missed.observed["stores_passed"] == 3
    assert missed.detail == ("DR drill of service checkout: every store verified 10m01s after the drill started: over "
                             "the service's target 10m00s")
    assert run_status([], [missed]) == "failed"  # the run's status (and so its exit code, summary, notify) follows


@pytest.mark.parametrize("statuses", [ALL_PASSED, {**ALL_PASSED, "shop": "failed"}])
def test_the_run_check_and_the_record_match_the_evidence_schema(statuses: dict[str, str]) -> None:
    record = drill_record(PLAN, statuses, READY, elapsed_seconds=415.5, mode="parallel", workers=2)
    schema = json.loads(SCHEMA_PATH.read_text())
    for value, definition in ((record.as_run_check().as_evidence(), "run_check"), (record.as_evidence(), "drill")):
        problems = list(Draft202012Validator({"$defs": schema["$defs"], **_definition(schema, definition)})
                        .iter_errors(value))
        assert not problems, [p.message for p in problems]


def _definition(schema: dict[str, Any], name: str) -> dict[str, Any]:
    if name in schema["$defs"]:
        return dict(schema["$defs"][name])
    return dict(schema["properties"]["run"]["properties"][name])


def test_the_drill_record_is_frozen() -> None:
    record = drill_record(PLAN, ALL_PASSED, READY, elapsed_seconds=415.5, mode="parallel", workers=2)
    with pytest.raises(FrozenInstanceError):
        record.workers = 3  # type: ignore[misc]


def test_people_text_is_kept_as_typed_one_line_each() -> None:
    assert people_text(["  Ada <b>Lovelace</b> (IC) ", "Grace & co"], what="participant") == (
        "Ada <b>Lovelace</b> (IC)", "Grace & co")
    with pytest.raises(DrillInputError, match="an empty participant"):
        people_text(["Ada", "  "], what="participant")
    with pytest.raises(DrillInputError, match=r"finding 'one\\ntwo' has a control character"):
        people_text(["one\ntwo"], what="finding")
    with pytest.raises(DrillInputError, match="control character"):
        people_text(["\x1b[31mred"], what="participant")


def test_a_findings_file_has_one_finding_per_line() -> None:
    text = ("# not a heading, a finding\n- the runbook's step 3 is out of date\n\n"
            "* restore took the on-call 20m to start\n")
    assert findings_from_text(text) == ["# not a heading, a finding", "the runbook's step 3 is out of date",
                                        "restore took the on-call 20m to start"]


@pytest.mark.parametrize(("stores", "cores", "xdist", "workers"), [
    (3, 2, True, 2), (2, 8, True, 2), (1, 8, True, 1), (3, 1, True, 1), (3, 8, False, 1),
])
def test_workers_one_per_store_up_to_the_cores_with_xdist(stores: int, cores: int, xdist: bool, workers: int) -> None:
    assert workers_for(stores, cores=cores, xdist=xdist) == workers
