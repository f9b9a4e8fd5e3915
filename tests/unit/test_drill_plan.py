"""A drill's judgement (verifiers/drill.py): the service RTO is the latest store's time, compared only when every
store passed; people's text is kept as typed but one line each; how many workers restore the stores together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from verifiers.drill import DrillInputError, DrillPlan, drill_record, findings_from_text, judge_service_rto, people_text
from verifiers.drill_command import workers_for
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
    assert record["passed"] is False and record["service_rto_seconds"] is None
    assert record["rto"]["status"] == "not compared"


def test_a_store_without_a_time_is_not_compared() -> None:
    rto = judge_service_rto(PLAN, ALL_PASSED, {"saas": 1.0, "cache": 2.0})
    assert (rto.status, rto.message) == ("not compared", "not compared: no time was recorded for shop (target "
                                                         "10m00s)")


def test_the_record_holds_the_drill() -> None:
    record = drill_record(PLAN, ALL_PASSED, READY, elapsed_seconds=415.5, mode="parallel", workers=2)
    assert record == {
        "service": "checkout", "owner": None, "description": None, "stores": ["saas", "cache", "shop"],
        "participants": ["Ada (IC)"], "findings": [], "started": "2026-12-06T20:00:00Z",
        "finished": "2026-12-06T20:06:55.500000Z", "mode": "parallel", "workers": 2,
        "store_ready_seconds": {"saas": 240.0, "cache": 30.5, "shop": 410.25}, "service_rto_seconds": 410.25,
        "rto_target_seconds": 600.0, "rto": {"status": "met", "message": record["rto"]["message"]}, "passed": True}


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
