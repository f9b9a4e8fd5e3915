"""The monthly index: months counted across a year boundary and with missing months, success rate, worst RTO,
stores never restored, the SOC 2 mapping, and an index.html with nothing fetched from elsewhere. Hygiene-only
runs are mixed in: they are counted apart and never make a month's restore test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.evidence_runs import at, hygiene_record, make_run, restore_record, store_record
from verifiers.cli import main
from verifiers.errors import EvidenceError
from verifiers.evidence import chain
from verifiers.evidence.index import build_index, month_range, render_html


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nov 2025 .. Mar 2026 with no restore in January (a hygiene run only); `billing` is hygiene-checked from
    December and first restored in February, where its restore errors; one failed restore."""
    root = tmp_path_factory.mktemp("index") / "reports"
    make_run(root, at(2025, 11, 4), [restore_record("saas", rto=40.0)])
    make_run(root, at(2025, 12, 2), [restore_record("saas", "failed", rto=55.0)])
    make_run(root, at(2025, 12, 9), [restore_record("saas", rto=42.0)])
    make_run(root, at(2025, 12, 20), [hygiene_record("saas"), hygiene_record("billing", "failed")])
    make_run(root, at(2026, 1, 6), [hygiene_record("saas"), hygiene_record("billing")])
    make_run(root, at(2026, 2, 3), [restore_record("saas", rto=61.0, steps={"restore_data": 50.0, "warm": 0.3}),
                                    restore_record("billing", "error", rto=None)])
    make_run(root, at(2026, 3, 3), [restore_record("saas", rto=47.5), restore_record("billing", rto=1000.0)])
    return root


def index_of(root: Path, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("now", datetime(2026, 3, 20, tzinfo=UTC))
    return build_index(root, **kwargs)


def test_month_range_crosses_year_boundaries() -> None:
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert len(month_range("2024-01", "2026-12")) == 36
    with pytest.raises(EvidenceError, match="'2026-13' is not a month"):
        month_range("2026-01", "2026-13")
    with pytest.raises(EvidenceError, match="empty"):
        month_range("2026-02", "2026-01")


def test_counts_months_across_the_year_boundary_with_a_missing_month(root: Path) -> None:
    index = index_of(root)
    assert index["period"]["months"] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    saas = index["stores"]["saas"]
    assert (saas["months_tested"], saas["months_passed"], saas["missing_months"]) == (4, 4, ["2026-01"])
    assert saas["months_text"] == "4 of 5 months"
    billing = index["stores"]["billing"]  # hygiene in Dec and Jan; February's restore errored: not completed
    assert (billing["months_tested"], billing["missing_months"]) == (1, ["2025-11", "2025-12", "2026-01", "2026-02"])
    assert billing["hygiene_checks"] == {"results": 2, "passed": 1, "rate": 0.5, "stores": ["billing"]}
    completion = index["kpis"]["restore_test_completion"]
    assert completion == {"months_complete": 1, "months_in_period": 5,
                          "missing_months": ["2025-11", "2025-12", "2026-01", "2026-02"], "text": "1 of 5 months"}


def test_hygiene_runs_count_apart_and_complete_no_month(root: Path) -> None:
    """December's hygiene run names billing, which was not restored then: the month is not complete; the
    hygiene results are not restore tests."""
    index = index_of(root, first="2025-11", last="2025-12")
    assert index["stores"]["saas"]["months_text"] == "2 of 2 months"
    assert index["kpis"]["restore_test_completion"]["text"] == "0 of 2 months"
    assert index["kpis"]["restore_success_rate"] == {"passed": 2, "tests": 3, "rate": 0.6667}
    assert index["kpis"]["hygiene_checks"] == {"results": 2, "passed": 1, "rate": 0.5, "stores": ["billing", "saas"]}
    december = index["months"][1]
    assert december["stores"]["saas"] == {"tests": 2, "passed": 1, "status": "passed", "restored": True,
                                          "worst_rto_seconds": 55.0, "hygiene_results": 1,
                                          "not_restored_results": 0, "drill_results": 0}
    assert december["stores"]["billing"] == {"tests": 0, "passed": 0, "status": "no restore", "restored": False,
                                             "worst_rto_seconds": None, "hygiene_results": 1,
                                             "not_restored_results": 0, "drill_results": 0}
    assert [r["status"] for r in december["runs"]] == ["failed", "passed", "failed"]
    assert [s["kind"] for s in december["runs"][2]["stores"]] == ["hygiene", "hygiene"]


def test_default_period_ends_last_month_so_a_lapse_shows(root: Path) -> None:
    index = index_of(root, now=datetime(2026, 6, 15, tzinfo=UTC))
    assert index["period"]["to"] == "2026-05"
    assert index["stores"]["saas"]["missing_months"] == ["2026-01", "2026-04", "2026-05"]
    assert index["kpis"]["restore_test_completion"]["text"] == "1 of 7 months"


def test_kpis(root: Path) -> None:
    index = index_of(root, stores=["saas", "billing", "ledger"])
    kpis = index["kpis"]
    assert kpis["stores_never_tested"] == ["ledger"]
    assert kpis["restore_test_completion"]["months_complete"] == 0  # ledger was due every month
    assert kpis["restore_success_rate"] == {"passed": 5, "tests": 7, "rate": 0.7143}  # restores only
    assert kpis["hygiene_checks"] == {"results": 4, "passed": 3, "rate": 0.75, "stores": ["billing", "saas"]}
    assert kpis["not_restored"]["results"] == 0 and kpis["drills"]["results"] == 0
    assert kpis["worst_rto"]["saas"]["seconds"] == 61.0 and kpis["worst_rto"]["saas"]["month"] == "2026-02"
    assert kpis["worst_rto"]["billing"]["within_target"] is False
    assert kpis["worst_rto"]["ledger"] is None
    trend = index["stores"]["saas"]["rto_trend"]
    assert [p["worst_rto_seconds"] for p in trend] == [40.0, 55.0, None, 61.0, 47.5]
    # where the slowest restore of each month spent its time (store_record: restore = rto - 3)
    assert trend[3]["phases"] == {"fetch": 0.5, "provision": 2.0, "restore": 58.0, "verify": 0.5, "teardown": 0.2}
    assert trend[2]["phases"] == {}
    assert trend[3]["steps"] == {"restore_data": 50.0, "warm": 0.3}  # the steps inside them, where recorded
    assert trend[4]["steps"] == {} and trend[2]["steps"] == {}
    assert index["integrity"]["ok"] is True and index["integrity"]["runs"] == 7
    assert {m["check"]: m["criteria"] for m in index["soc2"]["checks"]}["checksum"] == ["A1.3"]
    assert {m["check"]: m["criteria"] for m in index["soc2"]["checks"]}["artifact"] == ["A1.2"]


def test_cli_writes_a_self_contained_index(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "ledger"\nkind = "postgres"\nrto = "15m"\nrpo = "1d"\n'
                         '[stores.source]\ntype = "file"\npath = "x/*.dump"\n')
    assert main(["evidence", "index", str(root), "--inventory", str(inventory), "--to", "2026-03"]) == 0
    out = capsys.readouterr().out
    assert "restore tests completed in 0 of 5 months" in out and "never tested: ledger" in out
    index = json.loads((root / "index.json").read_text())
    assert index["kpis"]["stores_never_tested"] == ["ledger"]
    page = (root / "index.html").read_text()
    assert "Archive integrity verified: 7 runs" in page and page.count("<svg") == 3
    assert re.findall(r"""(?:src|href)=['"](?!2025-|2026-)""", page) == []  # links only to the runs' reports
    assert "<script" not in page and "@import" not in page and "url(" not in page


def month_row(page: str, month: str) -> list[str]:
    """The cells of index.html's months x stores grid for a month: billing, ledger, saas (then the runs)."""
    row = re.search(rf"<tr><th>{month}</th>(.*?)</tr>", page)
    assert row is not None, month
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))


def test_index_html_marks_each_month_with_no_restore(root: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "ledger"\nkind = "postgres"\nrto = "15m"\nrpo = "1d"\n'
                         '[stores.source]\ntype = "file"\npath = "x/*.dump"\n')
    assert main(["evidence", "index", str(root), "--inventory", str(inventory), "--to", "2026-03"]) == 0
    page = (root / "index.html").read_text()
    billing, ledger, saas, _ = month_row(page, "2026-01")
    assert billing == "<b>no restore</b><div class='dim'>1 hygiene-only result</div>"
    assert ledger == "<b>no restore</b>" and saas == billing
    billing, _, saas, _ = month_row(page, "2026-02")  # an errored restore is no completed restore
    assert billing == "<b>no restore</b><div class='dim'>0 of 1 restore passed</div>"
    assert saas == "passed<div class='dim'>1 of 1 restore passed, worst RTO 1m01s</div>"
    assert "<td class='error norestore'><b>no restore</b><div class='dim'>0 of 1 restore passed" in page
    assert month_row(page, "2025-12")[2] == ("passed<div class='dim'>1 of 2 restores passed, worst RTO 55.0s</div>"
                                             "<div class='dim'>1 hygiene-only result</div>")
    total = re.search(r"<tr class='total'><th>Months restored</th>(.*?)</tr>", page)
    assert total is not None
    assert re.findall(r"<td>(.*?)</td>", total.group(1)) == ["1 of 5 months", "0 of 5 months", "4 of 5 months", ""]
    assert "Hygiene checks (no restore)" in page and "3 of 4 passed; counted apart from the restore tests" in page
    assert "5 of 7 store restores passed" in page
    # the trend chart's point of that month says where the time went: phases, then the steps inside them
    assert "<title>2026-02: 1m01s (fetch 0.50s, provision 2.00s, restore 58.0s, verify 0.50s, teardown 0.20s; " \
           "restore_data 50.0s, warm 0.30s)</title>" in page


def test_results_that_restored_nothing_are_no_restore_tests(tmp_path: Path) -> None:
    """A store that errored before its restore (no restore check) and one compared in place count apart."""
    root = tmp_path / "reports"
    make_run(root, at(2026, 3, 3), [restore_record("saas"), store_record("cache", "error", rto=None)])
    make_run(root, at(2026, 3, 4), [store_record("bucket")])
    index = index_of(root, last="2026-03")
    kpis = index["kpis"]
    assert kpis["restore_success_rate"] == {"passed": 1, "tests": 1, "rate": 1.0}
    assert kpis["not_restored"] == {"results": 2, "passed": 1, "rate": 0.5, "stores": ["bucket", "cache"]}
    assert kpis["stores_never_tested"] == ["bucket", "cache"]
    assert kpis["restore_test_completion"]["missing_months"] == ["2026-03"]
    assert index["months"][0]["stores"]["cache"]["status"] == "no restore"
    assert main(["evidence", "index", str(root), "--to", "2026-03"]) == 0
    page = (root / "index.html").read_text()
    assert month_row(page, "2026-03")[1] == "<b>no restore</b><div class='dim'>1 result that restored nothing</div>"
    assert "2 results restored nothing (stopped before the restore, or a bucket compared in place)" in page


def test_a_broken_archive_is_flagged_in_the_index(root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "reports"
    damaged.mkdir()
    run = make_run(damaged, at(2026, 1, 5), [store_record()])
    (run / "junit.xml").write_text("<testsuites/>")
    assert main(["evidence", "index", str(damaged)]) == 1
    assert f"first broken link: {run.relative_to(damaged).as_posix()}/junit.xml" in capsys.readouterr().out
    assert "Archive integrity NOT verified" in (damaged / "index.html").read_text()


def test_bad_month_is_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "index", str(root), "--from", "2026-1"]) == 2
    assert "'2026-1' is not a month — write it as YYYY-MM" in capsys.readouterr().err


def test_a_verification_made_elsewhere_is_used_instead_of_the_roots_own(root: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive's verification (its problem paths relative to the root) decides integrity and which runs are
    verified; the reports root's own chain is then not read."""
    own = chain.verify_reports(root)
    broken = own.runs[1]
    elsewhere = chain.ChainReport(runs=own.runs, problems=(chain.Problem(f"{broken.rel}/junit.xml", "modified"),),
                                  head=own.head)

    def refuse(*args: Any, **kwargs: Any) -> chain.ChainReport:
        raise AssertionError("build_index verified the root itself")

    monkeypatch.setattr(chain, "verify_reports", refuse)
    index = index_of(root, report=elsewhere)
    assert index["integrity"]["ok"] is False
    assert index["integrity"]["first_broken"] == f"{broken.rel}/junit.xml: modified"
    verified = {r["id"]: r["verified"] for m in index["months"] for r in m["runs"]}
    assert [run_id for run_id, ok in verified.items() if not ok] == [broken.directory.name]
    with pytest.raises(EvidenceError, match="no runs to index"):
        index_of(root, report=chain.ChainReport(runs=(), problems=(), head=None))


def test_index_html_escapes_what_the_runs_say(tmp_path: Path) -> None:
    """The page is a jinja2 template with autoescape on: a name from evidence.json is text, never markup."""
    root = tmp_path / "reports"
    make_run(root, at(2026, 3, 3), [restore_record("<script>alert('x')</script>&co", rto=30.0)])
    assert main(["evidence", "index", str(root), "--to", "2026-03"]) == 0
    page = (root / "index.html").read_text()
    assert "<script" not in page
    assert "<th>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;co</th>" in page
    assert page.count("<svg") == 1 and "<title>2026-03: 30.0s (" in page


def success_record(name: str, completed: int, missed: list[dict[str, str]], *,
                   history: str = "rds-automated") -> dict[str, Any]:
    """A hygiene result with a backup_success check, as verifiers/compliance/success_rate.py writes it."""
    record = hygiene_record(name, "passed" if not missed else "failed")
    scheduled = completed + len(missed)
    record["checks"].append({
        "check": "backup_success", "subject": history, "passed": not missed,
        "observed": {"completed": completed, "scheduled": scheduled, "percent": round(100 * completed / scheduled, 3)},
        "expected": {"min_percent": 99.9},
        "message": "...", "compared": True,
        "scheduled_backups": {"schedule": "daily", "first_day": "2026-02-01", "last_day": "2026-03-02",
                              "scheduled": scheduled, "completed": completed, "missed": missed}})
    return record


def test_backup_success_rate_adds_up_each_stores_newest_counts(tmp_path: Path) -> None:
    """saas's older 30 of 30 gives way to its newer 29 of 30; billing's 30 of 30 joins it: 59 of 60, below
    99.9 %, the missed day named; a not-compared backup_success (nothing scheduled) counts nothing."""
    root = tmp_path / "reports"
    make_run(root, at(2026, 2, 3), [success_record("saas", 30, [])])
    not_compared = hygiene_record("ledger")
    not_compared["checks"].append({"check": "backup_success", "subject": "dynamodb-pitr", "passed": True,
                                   "observed": None, "expected": None, "compared": False,
                                   "message": "not compared: no daily backup was scheduled"})
    newest = make_run(root, at(2026, 3, 3), [
        success_record("saas", 29, [{"day": "2026-02-14", "status": "missing"}]),
        success_record("billing", 30, [], history="aws-backup"), not_compared])
    schema = json.loads(resources.files("verifiers.evidence").joinpath("schema/evidence.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    evidence = json.loads((newest / "evidence.json").read_text())
    assert list(validator.iter_errors(evidence)) == []
    evidence["stores"][0]["checks"][-1]["scheduled_backups"]["missed"] = [{"day": "2026-02-14"}]  # no status
    assert [e.message for e in validator.iter_errors(evidence)] == ["'status' is a required property"]
    kpi = index_of(root)["kpis"]["backup_success_rate"]
    assert (kpi["scheduled"], kpi["completed"], kpi["rate_percent"], kpi["meets_target"]) == (60, 59, 98.333, False)
    assert kpi["text"] == "59 of 60 scheduled backups completed (98.333 %)"
    assert sorted(kpi["stores"]) == ["billing", "saas"]
    assert kpi["stores"]["saas"]["histories"] == [{
        "history": "rds-automated", "first_day": "2026-02-01", "last_day": "2026-03-02", "scheduled": 30,
        "completed": 29, "missed": ["2026-02-14 missing"]}]
    assert main(["evidence", "index", str(root), "--to", "2026-03"]) == 0
    html = (root / "index.html").read_text()
    assert "Backup success rate" in html and "98.333 %" in html
    assert "BELOW the target ≥ 99.9 %; missed: saas (rds-automated) 2026-02-14 missing" in html


def test_backup_success_rate_without_counts_is_not_measured(root: Path) -> None:
    kpi = index_of(root)["kpis"]["backup_success_rate"]
    assert (kpi["scheduled"], kpi["rate_percent"], kpi["meets_target"], kpi["stores"]) == (0, None, None, {})
    assert kpi["text"] == "not measured: no store has backup_success counts in the period"


def test_the_oldest_backup_restored_is_judged_against_each_stores_rpo(tmp_path: Path) -> None:
    """The SOP's "RPO ≤ 1 h for the primary database", as the restore tests measured it: per store, the oldest
    backup restored in the period against its target, and a card naming the stores over it. A hygiene result's
    backup age is not a restore test's and does not count."""
    root = tmp_path / "reports"
    fresh, stale = restore_record("orders"), restore_record("orders")
    fresh["rpo"] = {"seconds": 1800.0, "target_seconds": 3600.0}
    stale["rpo"] = {"seconds": 5400.0, "target_seconds": 3600.0}
    cache = restore_record("cache")
    cache["rpo"] = {"seconds": 600.0, "target_seconds": 86400.0}
    hygiene = hygiene_record("cache")
    hygiene["rpo"] = {"seconds": 999999.0, "target_seconds": 86400.0}
    make_run(root, at(2026, 10, 3), [fresh, cache])
    make_run(root, at(2026, 11, 3), [stale])
    make_run(root, at(2026, 11, 4), [hygiene])
    index = build_index(root, now=datetime(2026, 12, 1, tzinfo=UTC))
    orders, cached = index["stores"]["orders"]["worst_rpo"], index["stores"]["cache"]["worst_rpo"]
    assert (orders["seconds"], orders["target_seconds"], orders["month"], orders["within_target"]) == (
        5400.0, 3600.0, "2026-11", False)
    assert (cached["seconds"], cached["within_target"]) == (600.0, True)
    html = render_html(index)
    assert "Stores over their RPO" in html and "orders (1h30m &gt; 1h00m, " in html
