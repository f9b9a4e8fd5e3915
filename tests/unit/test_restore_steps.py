"""Steps inside the RTO phases (issue 21): the timer laps them inside their own phase only and never adds them to
the RTO; a step not measured keeps its reason; the evidence, its schema (a superset: older records still
validate), the report and the -v summary carry both."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.evidence_runs import store_record
from verifiers.evidence import SCHEMA_PATH
from verifiers.evidence.report_html import rto_chart_html
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome
from verifiers.sources import Artifact
from verifiers.terminal_summary import summary_lines
from verifiers.timing import RESTORE_STEPS, STEPS, RestoreTimer

PLAIN = "a plain-SQL dump has no sections"


def store_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator({**schema["properties"]["stores"]["items"], "$defs": schema["$defs"]})


def outcome(timer: RestoreTimer) -> StoreOutcome:
    inventory = parse_inventory({"stores": [{"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "1d",
                                             "source": {"type": "file", "path": "x.dump"}}]}, Path("inventory.toml"))
    artifact = Artifact(location="/backups/saas-1.dump", path=Path("x"), sha256="0" * 64, bytes=1,
                        modified=datetime.now(UTC), manifest_path=None)
    return StoreOutcome(store=inventory.stores[0], status="passed", checks=[], timer=timer, artifact=artifact,
                        rpo_seconds=60.0)


def timed() -> RestoreTimer:
    return RestoreTimer(seconds={"fetch": 0.1, "provision": 1.0, "restore": 9.0, "verify": 4.0, "teardown": 0.5},
                        steps={"restore_data": 6.0, "restore_indexes": 2.5, "first_query": 0.05, "warm": 3.5},
                        steps_not_measured={"restore_schema": "not split here"})


def test_a_lap_times_the_step_since_its_phase_began_or_its_last_lap() -> None:
    timer = RestoreTimer()
    with timer.phase("restore"):
        time.sleep(0.02)
        timer.lap("restore_schema")
        time.sleep(0.05)
        timer.lap("restore_data")
        timer.lap("restore_indexes")
    assert 0.02 <= timer.steps["restore_schema"] < 0.05 <= timer.steps["restore_data"]
    assert timer.steps["restore_indexes"] < 0.01
    assert sum(timer.steps.values()) <= timer.seconds["restore"]
    with timer.phase("verify"):  # a new phase starts the step clock again
        timer.lap("first_query")
    assert timer.steps["first_query"] < 0.01
    assert timer.rto_seconds == pytest.approx(timer.seconds["restore"] + timer.seconds["verify"])


def test_a_step_is_lapped_only_inside_its_own_phase() -> None:
    timer = RestoreTimer()
    with pytest.raises(ValueError, match="step 'warm' lies in the verify phase, not in no phase"):
        timer.lap("warm")
    with timer.phase("restore"), pytest.raises(ValueError, match="not in restore"):
        timer.lap("first_query")
    with pytest.raises(ValueError, match="unknown step 'index'"):
        timer.not_measured("index", "why")


def test_not_measured_keeps_the_reason_and_never_hides_a_time() -> None:
    timer = RestoreTimer()
    for step in RESTORE_STEPS:
        timer.not_measured(step, PLAIN)
    with timer.phase("restore"):
        timer.lap("restore_data")  # timed after all: the time stands, the note goes
    timer.not_measured("restore_data", "too late")
    assert timer.steps_not_measured == {"restore_schema": PLAIN, "restore_indexes": PLAIN}
    assert set(timer.steps) == {"restore_data"}


def test_the_evidence_records_steps_beside_phases_and_validates() -> None:
    record = outcome(timed()).as_evidence()
    rto = record["rto"]
    assert rto["seconds"] == pytest.approx(14.1)  # the phases' sum: steps are inside them, never added
    assert rto["steps"] == {"restore_data": 6.0, "restore_indexes": 2.5, "first_query": 0.05, "warm": 3.5}
    assert list(rto["steps"]) == [s for s in STEPS if s in rto["steps"]]
    assert rto["steps_not_measured"] == {"restore_schema": "not split here"}
    store_validator().validate(record)


def test_the_schema_is_a_superset_older_evidence_validates_and_names_are_held() -> None:
    older: dict[str, Any] = store_record()  # as evidence was written before steps existed
    assert "steps" not in older["rto"]
    store_validator().validate(older)
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$defs"]["step"]["enum"] == list(STEPS)
    for bad in ({"steps": {"restore_rows": 1.0}}, {"steps": {"warm": -1.0}},
                {"steps_not_measured": {"warm": ""}}):
        record = store_record()
        record["rto"].update(bad)
        assert list(store_validator().iter_errors(record)), bad


def test_the_report_draws_steps_under_their_phase_and_names_those_not_measured() -> None:
    html = rto_chart_html(outcome(timed()).as_evidence()["rto"], label="saas")
    labels = [part.split(">", 1)[1].split("<", 1)[0] for part in html.split("<text ")[1:]
              if "rp-chart-label" in part]
    assert labels == ["fetch", "provision", "restore", "restore_data", "restore_indexes", "verify", "first_query",
                      "warm", "teardown"]
    assert html.count("rp-bar-step") == 4
    assert "Not measured: restore_schema: not split here." in html
    older = rto_chart_html(store_record()["rto"], label="saas")  # no steps: the phase bars as before
    assert "rp-bar-step" not in older and "Not measured" not in older


def test_verbose_summary_lists_steps_and_why_some_were_not_measured() -> None:
    timer = timed()
    timer.steps_not_measured = dict.fromkeys(RESTORE_STEPS, PLAIN)
    timer.steps = {"first_query": 0.05, "warm": 3.5}
    text = [line.text for line in summary_lines([outcome(timer)], verbosity=1)]
    assert "saas steps: first_query 0.05s, warm 3.50s" in text
    assert f"saas not measured: restore_schema, restore_data, restore_indexes: {PLAIN}" in text
    assert not any("steps" in line for line in (x.text for x in summary_lines([outcome(timer)])))
