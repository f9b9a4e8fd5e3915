"""A check that compared nothing is recorded as not compared, with the reason: in evidence.json (valid against the
shipped schema), as a skip rather than a pass in pytest, as "not compared" in report.html, the terminal and the
index, and the SOC 2 mapping claims no criterion for it (the live mode's artifact check, an engine check when the
backup records no source version)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from tests.alerts_support import evidence, store
from tests.evidence_runs import at, make_run, restore_record
from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.evidence import SCHEMA_PATH, soc2
from verifiers.evidence.index import build_index, render_html
from verifiers.evidence.report_html import check_detail_html, summary_html
from verifiers.inventory import parse_inventory
from verifiers.plugin import RestoreCheck
from verifiers.runner import StoreOutcome
from verifiers.sources import Artifact
from verifiers.stores.postgres.fidelity import engine_check
from verifiers.stores.postgres.live import artifact_check
from verifiers.terminal_summary import summary_lines
from verifiers.timing import RestoreTimer

SHA = "ab" * 32


def live_artifact() -> CheckResult:
    artifact = Artifact(location="/backups/app-20261101.dump", path=Path("x"), sha256=SHA, bytes=359263,
                        modified=datetime(2026, 11, 1, tzinfo=UTC), manifest_path=None)
    return artifact_check(artifact)


def outcome_with(*results: CheckResult) -> StoreOutcome:
    inventory = parse_inventory({"stores": [{"name": "app", "kind": "postgres", "rto": "15m", "rpo": "1d",
                                             "source": {"type": "file", "path": "b/*.dump"}}]}, Path("inv.toml"))
    return StoreOutcome(store=inventory.stores[0], status="passed", checks=list(results), timer=RestoreTimer())


def test_the_live_artifact_and_an_unknown_source_engine_are_not_compared() -> None:
    artifact = live_artifact()
    assert (artifact.check, artifact.passed, artifact.compared, artifact.observed, artifact.expected) == (
        "artifact", True, False, SHA, None)
    assert artifact.message == ("not compared: no manifest to compare it with (the live database is the reference); "
                                "app-20261101.dump: sha256 recorded (359263 bytes)")
    engine = engine_check(None, "18.6", exact=False)
    assert (engine.passed, engine.compared, engine.observed, engine.expected) == (True, False, "18.6", None)
    assert engine.message == "not compared: the backup records no source server version (PostgreSQL 18.6 sandbox)"
    assert engine_check("18.1", "18.6", exact=False).compared  # a comparison, whatever its verdict
    assert checks.row_count("public.t", 5, 5, 0.0).compared


def test_evidence_records_it_and_the_schema_takes_it() -> None:
    record = outcome_with(live_artifact(), checks.row_count("public.t", 5, 5, 0.0)).as_evidence()
    assert [c["compared"] for c in record["checks"]] == [False, True]
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(evidence(store("app", checks=record["checks"])), schema)
    jsonschema.validate(evidence(store("app")), schema)  # runs written before the field: still valid
    wrong = {**record["checks"][0], "compared": "no"}
    with pytest.raises(jsonschema.ValidationError, match="'no' is not of type 'boolean'"):
        jsonschema.validate(evidence(store("app", checks=[wrong])), schema)


def test_soc2_claims_nothing_for_it() -> None:
    assert soc2.criteria_for("artifact") == ("A1.2",)
    assert soc2.criteria_for("artifact", compared=False) == ()
    assert "sha256 against its manifest" not in soc2.describe("artifact", compared=False)


def test_report_html_says_not_compared_with_the_reason_and_no_pass_mark() -> None:
    result = live_artifact()
    outcome = outcome_with(result, checks.row_count("public.t", 5, 5, 0.0))
    detail = check_detail_html(outcome, result)
    badge = "<span class='rp-badge rp-not-compared'>NOT COMPARED</span>"
    assert f"{badge} not compared: no manifest to compare it with" in detail
    assert "✓" not in detail and "rp-passed" not in detail
    assert "SOC 2 A1" not in detail and "sha256 against its manifest" not in detail
    assert "claims no criterion" in detail
    compared = check_detail_html(outcome, outcome.checks[1])
    assert "✓" in compared and "SOC 2 A1.3" in compared
    row = re.search(r"<td>(1 of 1<div class='rp-dim'>1 not compared</div>)</td>", summary_html([outcome]))
    assert row is not None


def test_terminal_counts_it_apart() -> None:
    outcome = outcome_with(live_artifact(), checks.row_count("public.t", 5, 5, 0.0))
    assert summary_lines([outcome])[1].text.endswith("1/1 +1 not compared")


def test_pytest_shows_it_as_skipped_with_the_reason_never_as_a_pass() -> None:
    outcome = outcome_with(live_artifact())
    reason = re.escape("app: artifact app-20261101.dump: not compared: no manifest")
    with pytest.raises(pytest.skip.Exception, match=reason):
        RestoreCheck(outcome, CheckSpec("artifact", "app-20261101.dump")).assert_passed()


def test_the_index_lists_what_claimed_no_criterion(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    live = restore_record("app")
    live["checks"] = [live_artifact().as_dict(), *live["checks"]]
    make_run(root, at(2026, 11, 3), [live, restore_record("saas")])
    index = build_index(root, now=datetime(2026, 11, 20, tzinfo=UTC), last="2026-11")
    assert index["soc2"]["not_compared"] == {"artifact": 1}
    stores = {s["name"]: s for s in index["months"][0]["runs"][0]["stores"]}
    assert stores["app"]["not_compared"] == ["artifact:app-20261101.dump"] and stores["saas"]["not_compared"] == []
    assert ("A check recorded as not compared (nothing to compare it with) claims no criterion. Not compared in "
            "this period: artifact (1 result).") in render_html(index)
