"""Run-level checks: inventory coverage as RunChecks (uncovered and unknown fail, a check that compared nothing
is no pass), recorded in evidence.json (valid against the shipped schema, absent when not made), failing the run's
status; and the archive index showing the newest run's coverage and the declared stores apart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.alerts_support import evidence, store, write_run
from tests.evidence_runs import at, make_run, restore_record
from verifiers.alerts.payload import store_alerts
from verifiers.cli import main
from verifiers.discovery import run as discovery_run
from verifiers.discovery.coverage import Coverage, compare
from verifiers.discovery.resources import Discovered, Resource, Unknown
from verifiers.discovery.run import coverage_checks
from verifiers.evidence import RunInfo, evidence_record, finalise_run, run_status
from verifiers.evidence.conformance import evidence_problems
from verifiers.evidence.index import build_index, render_html
from verifiers.inventory import parse_inventory
from verifiers.run_checks import RunCheck, failed
from verifiers.run_record import load_run

INVENTORY = {
    "stores": [{"name": "orders", "kind": "postgres", "rto": "1h", "rpo": "1d",
                "source": {"type": "rds-snapshot", "instance": "prod-orders"}}],
    "declared": [{"name": "stripe", "type": "saas", "backup_method": "export", "last_verified": "2026-11-02"}],
    "discovery": {"aws": {"regions": ["eu-west-1"]}},
}
DENIED = Unknown("aws", "elasticache", "eu-west-1", "AccessDenied: not authorized",
                 "elasticache:DescribeReplicationGroups")


def _coverage(*names: str, unknown: tuple[Unknown, ...] = ()) -> Coverage:
    inventory = parse_inventory(INVENTORY, Path("inv.toml"))
    found = Discovered([Resource("aws", "rds", f"arn:aws:rds:eu-west-1:1:db:{n}", n, "eu-west-1") for n in names],
                       list(unknown))
    return compare(inventory.stores, inventory.declared, [], found)


def test_uncovered_and_unknown_are_failed_checks_saying_why() -> None:
    checks = coverage_checks(_coverage("prod-orders", "prod-billing", unknown=(DENIED,)))
    assert [(c.subject, c.passed) for c in checks] == [
        ("inventory", False), ("arn:aws:rds:eu-west-1:1:db:prod-billing", False),
        ("aws elasticache in eu-west-1", False)]
    assert checks[0].detail == "inventory incomplete: 1 uncovered, 1 unknown"
    assert checks[1].detail.startswith("store not in inventory: arn:aws:rds:eu-west-1:1:db:prod-billing")
    assert checks[2].observed == {"listed": False, "permission": "elasticache:DescribeReplicationGroups"}
    assert "permission elasticache:DescribeReplicationGroups is missing" in checks[2].detail


def test_a_complete_inventory_is_one_passed_check() -> None:
    (check,) = coverage_checks(_coverage("prod-orders"))
    assert (check.passed, check.observed["covered"], check.observed["declared"]) == (True, 1, 1)


def test_a_failed_run_check_fails_the_run_and_not_compared_is_no_pass() -> None:
    not_compared = RunCheck("alert_response", "pagerduty", None, None, 3600, "no incident in the period")
    assert not_compared.status == "not compared" and failed([not_compared]) == []
    assert run_status([], [not_compared]) == "empty"
    assert run_status([], coverage_checks(_coverage("prod-billing"))) == "failed"


def test_evidence_records_the_blocks_and_they_fit_the_schema(tmp_path: Path) -> None:
    run = RunInfo.new(tmp_path / "reports", now=at(2026, 11, 3))
    coverage = _coverage("prod-orders", "prod-billing", unknown=(DENIED,))
    record = evidence_record(run, [], finished=datetime.now(UTC), project_dir=tmp_path,
                             run_checks=coverage_checks(coverage), coverage=coverage.as_dict())
    assert record["run"]["status"] == "failed"
    assert [c["passed"] for c in record["run_checks"]] == [False, False, False]
    assert record["coverage"]["unknown"][0]["permission"] == "elasticache:DescribeReplicationGroups"
    sealed = {**record, "chain": {"sequence": 1, "previous": None, "signature": None}}
    assert evidence_problems("run", sealed) == []
    broken = {**sealed, "coverage": {**sealed["coverage"], "uncovered": [{"id": "x"}]}}
    assert evidence_problems("run", broken)  # the block is checked, not merely allowed
    plain = evidence_record(run, [], finished=datetime.now(UTC), project_dir=tmp_path)
    assert "run_checks" not in plain and "coverage" not in plain  # a run without discovery reads as before


def test_the_index_shows_the_newest_coverage_and_declared_stores_apart(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 10, 3), [restore_record("orders")])
    run = RunInfo.new(root, now=at(2026, 11, 3))
    run.directory.mkdir(parents=True)
    coverage = _coverage("prod-orders", "prod-billing")
    record = evidence_record(run, [], finished=at(2026, 11, 3, 3), project_dir=tmp_path,
                             run_checks=coverage_checks(coverage), coverage=coverage.as_dict())
    record["stores"] = [restore_record("orders")]
    finalise_run(run.directory, record)
    index = build_index(root, stores=["orders"], now=datetime(2026, 12, 1, tzinfo=UTC))
    kpi = index["kpis"]["inventory_coverage"]
    assert kpi == {"run": run.id, "complete": False, "uncovered": 1, "unknown": 0, "covered": 1, "ignored": 0,
                   "uncovered_ids": ["arn:aws:rds:eu-west-1:1:db:prod-billing"], "declared": ["stripe"]}
    assert index["kpis"]["stores_never_tested"] == []  # the declared store is not due a restore
    html = render_html(index)
    assert "Production stores not in the inventory" in html and "arn:aws:rds:eu-west-1:1:db:prod-billing" in html
    assert "Declared stores (not restorable)" in html and "stripe; counted apart from the restore tests" in html


def test_an_index_without_discovery_has_no_coverage(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 10, 3), [restore_record("orders")])
    index = build_index(root, now=datetime(2026, 11, 1, tzinfo=UTC))
    assert index["kpis"]["inventory_coverage"] is None
    assert "Production stores not in the inventory" not in render_html(index)


def test_discovery_that_fails_outright_is_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(inventory: object) -> None:
        raise KeyError("ARN")

    monkeypatch.setattr(discovery_run, "inventory_coverage", broken)
    result = discovery_run.run_coverage(parse_inventory(INVENTORY, Path("inv.toml")))
    (check,) = result.checks
    assert result.record is None
    assert (check.subject, check.passed) == ("discovery", False)
    assert check.detail.startswith("discovery failed: KeyError: 'ARN'; run `restoreproof inventory discover`")


def test_the_job_summary_names_the_failed_run_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = evidence(store("orders"))
    record["run"]["status"] = "failed"
    record["run_checks"] = [c.as_evidence() for c in coverage_checks(_coverage("prod-orders", "prod-billing"))]
    assert main(["summary", str(write_run(tmp_path, record))]) == 0
    out = capsys.readouterr().out
    assert out.endswith("| orders | ✅ passed | 4.13s / 15m00s | 2d4h / 30d0h | — |\n\nRun checks failed (2):\n\n"
                        "- inventory incomplete: 1 uncovered, 0 unknown\n"
                        "- store not in inventory: arn:aws:rds:eu-west-1:1:db:prod-billing — add a store that "
                        "verifies it (or `covers` it), or a [[discovery.ignore]] entry with the reason\n")


def test_notify_alerts_on_a_failed_run_check_and_resolves_it(tmp_path: Path) -> None:
    record = evidence(store("orders"))
    record["run_checks"] = [c.as_evidence() for c in coverage_checks(_coverage("prod-orders", "prod-billing"))]
    alerts = store_alerts(load_run(write_run(tmp_path / "failed", record)), None)
    assert [(a.store.name, a.action) for a in alerts] == [("orders", "resolve"), ("run:coverage", "trigger")]
    coverage = alerts[1]
    assert coverage.headline == "run:coverage: restore verification failed (2 of 2 checks failed)"
    assert coverage.problems()[1] == ("coverage arn:aws:rds:eu-west-1:1:db:prod-billing: store not in inventory: "
                                      "arn:aws:rds:eu-west-1:1:db:prod-billing — add a store that verifies it (or "
                                      "`covers` it), or a [[discovery.ignore]] entry with the reason")
    record["run_checks"] = [c.as_evidence() for c in coverage_checks(_coverage("prod-orders"))]
    record["run"]["id"] = "20261104T061700Z-000002"
    (_, resolved) = store_alerts(load_run(write_run(tmp_path / "fixed", record)), None)
    assert (resolved.store.name, resolved.action, resolved.dedup_key) == ("run:coverage", "resolve",
                                                                         coverage.dedup_key)


def test_the_index_shows_the_newest_alert_response(tmp_path: Path) -> None:
    """The newest run that recorded the alert-response KPI (--alert-response) gives the index's card; a later
    run without it does not hide it."""
    root = tmp_path / "reports"
    for day, check in ((3, RunCheck("alert_response", "backup alerts", True,
                                    {"incidents": 2, "within_target": 2, "share_percent": 100.0},
                                    {"within_seconds": 3600.0, "share_percent": 100.0}, "2 of 2 within 1h00m")),
                       (10, RunCheck("alert_response", "backup alerts", False,
                                     {"incidents": 4, "within_target": 3, "share_percent": 75.0,
                                      "slow": [["pagerduty:Q9", None]]},
                                     {"within_seconds": 3600.0, "share_percent": 100.0},
                                     "3 of 4 within 1h00m: NOT met; slow: pagerduty:Q9 (never)"))):
        run = RunInfo.new(root, now=at(2026, 11, day))
        run.directory.mkdir(parents=True)
        record = evidence_record(run, [], finished=at(2026, 11, day, 3), project_dir=tmp_path, run_checks=[check])
        record["stores"] = [restore_record("orders")]
        finalise_run(run.directory, record)
        newest = run.id
    make_run(root, at(2026, 11, 20), [restore_record("orders")])
    index = build_index(root, stores=["orders"], now=datetime(2026, 12, 1, tzinfo=UTC))
    kpi = index["kpis"]["alert_response"]
    assert (kpi["run"], kpi["passed"], kpi["observed"]["share_percent"]) == (newest, False, 75.0)
    html = render_html(index)
    assert "Backup alerts acknowledged within target" in html and "slow: pagerduty:Q9 (never)" in html
    other = tmp_path / "without"
    make_run(other, at(2026, 11, 3), [restore_record("orders")])
    without = build_index(other, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert without["kpis"]["alert_response"] is None
    assert "Backup alerts acknowledged within target" not in render_html(without)


def test_discovery_that_found_nothing_is_not_compared_and_no_pass() -> None:
    """Filters that match nothing (a wrong region, name or tag) must not read as a complete inventory."""
    coverage = _coverage()
    assert coverage.found_nothing and not coverage.complete
    assert coverage.as_dict()["complete"] is False
    (check,) = coverage_checks(coverage)
    assert (check.subject, check.passed, check.status) == ("inventory", None, "not compared")
    assert check.detail == ("not compared: discovery found no production store; check [discovery] "
                            "regions/names/tags")
    assert failed([check]) == [] and run_status([], [check]) == "empty"
    # one service unknown is not "nothing found": it fails as before
    (check, unknown) = coverage_checks(_coverage(unknown=(DENIED,)))
    assert (check.passed, unknown.passed) == (False, False)


def test_the_command_says_not_compared_when_discovery_found_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from verifiers.discovery import discover

    monkeypatch.setattr(discover, "discover", lambda settings: Discovered())
    path = tmp_path / "inv.toml"
    path.write_text('[[stores]]\nname = "a"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
                    'source = { type = "file", path = "a.dump" }\n[discovery.aws]\nregions = ["eu-west-1"]\n')
    assert main(["inventory", "discover", "--inventory", str(path)]) == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "inventory NOT COMPARED: discovery found no production store; check [discovery] regions/names/tags")


def test_the_index_says_discovery_failed_rather_than_show_an_older_runs_coverage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "reports"
    block: dict[str, Any] | None
    for day, result in ((3, None), (4, "failed")):
        run = RunInfo.new(root, now=at(2026, 11, day))
        run.directory.mkdir(parents=True)
        if result is None:  # the older run compared: nothing uncovered
            coverage = _coverage("prod-orders")
            checks, block = coverage_checks(coverage), coverage.as_dict()
        else:  # the newer run's discovery raised: a failed check, no block
            def broken(inventory: object) -> None:
                raise KeyError("ARN")

            monkeypatch.setattr(discovery_run, "inventory_coverage", broken)
            outcome = discovery_run.run_coverage(parse_inventory(INVENTORY, Path("inv.toml")))
            checks, block = outcome.checks, outcome.record
        record = evidence_record(run, [], finished=at(2026, 11, day, 3), project_dir=tmp_path, run_checks=checks,
                                 coverage=block)
        record["stores"] = [restore_record("orders")]
        finalise_run(run.directory, record)
    index = build_index(root, stores=["orders"], now=datetime(2026, 12, 1, tzinfo=UTC))
    kpi = index["kpis"]["inventory_coverage"]
    assert kpi["run"] == run.id and kpi["complete"] is False
    assert kpi["failed"].startswith("discovery failed: KeyError: 'ARN'")
    html = render_html(index)
    assert ("<div class='dim'>Production stores not in the inventory</div><div class='value'>unknown</div>"
            f"<div class='dim'>discovery failed in run {run.id}: KeyError: &#39;ARN&#39;;") in html
    assert "Declared stores (not restorable)" not in html  # the older run's card is not shown


def test_the_index_says_not_compared_when_the_newest_discovery_found_nothing(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    run = RunInfo.new(root, now=at(2026, 11, 3))
    run.directory.mkdir(parents=True)
    coverage = _coverage()
    record = evidence_record(run, [], finished=at(2026, 11, 3, 3), project_dir=tmp_path,
                             run_checks=coverage_checks(coverage), coverage=coverage.as_dict())
    record["stores"] = [restore_record("orders")]
    finalise_run(run.directory, record)
    html = render_html(build_index(root, stores=["orders"], now=datetime(2026, 12, 1, tzinfo=UTC)))
    assert ("<div class='dim'>Production stores not in the inventory</div><div class='value'>not compared</div>"
            f"<div class='dim'>run {run.id}: discovery found no production store; check [discovery] "
            "regions/names/tags</div>") in html


def test_folded_replicas_and_a_not_compared_coverage_fit_the_schema(tmp_path: Path) -> None:
    run = RunInfo.new(tmp_path / "reports", now=at(2026, 11, 3))
    replica = "arn:aws:rds:us-east-1:1:db:prod-orders-ro"
    source = Resource("aws", "rds", "arn:aws:rds:eu-west-1:1:db:prod-orders", "prod-orders", "eu-west-1",
                      {"env": "prod"}, replicas=(replica,))
    inventory = parse_inventory(INVENTORY, Path("inv.toml"))
    for coverage in (compare(inventory.stores, [], [], Discovered([source])), _coverage()):
        record = evidence_record(run, [], finished=datetime.now(UTC), project_dir=tmp_path,
                                 run_checks=coverage_checks(coverage), coverage=coverage.as_dict())
        sealed = {**record, "chain": {"sequence": 1, "previous": None, "signature": None}}
        assert evidence_problems("run", sealed) == []
    assert record["run_checks"][0]["passed"] is None  # the second: nothing found
    covered = compare(inventory.stores, [], [], Discovered([source])).as_dict()["covered"]
    assert covered[0]["replicas"] == [replica] and covered[0]["tags"] == {"env": "prod"}
