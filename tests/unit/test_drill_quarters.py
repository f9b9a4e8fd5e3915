"""Drills in the evidence: a run with run.drill is a drill (result_kinds.is_drill), counted apart from the restore
tests (the monthly KPI, the success rate, freshness); the index's quarterly KPI counts, of the last four quarters up
to its period's end (always four), those with a passed drill and names the others (a quarter before the archive's
first run too), shows which services each quarter drilled and, with the inventory, names the services not drilled;
the marker passes the evidence schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.evidence_runs import at, drill_marker, make_run, restore_record
from verifiers.cli import main
from verifiers.evidence.freshness import check_freshness
from verifiers.evidence.index import build_index, render_html
from verifiers.evidence.result_kinds import is_drill, result_kind, run_restored

NOW = datetime(2027, 1, 20, tzinfo=UTC)
INVENTORY = """
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "1d"
[stores.source]
type = "file"
path = "backups/saas-*.dump"

[[stores]]
name = "cache"
kind = "redis"
rto = "5m"
rpo = "1d"
[stores.source]
type = "file"
path = "backups/cache-*.rdb"

[[services]]
name = "checkout"
stores = ["saas", "cache"]
rto = "4h"

[[services]]
name = "billing"
stores = ["saas"]
rto = "1h"
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2026: a restore test every month; drills that passed in Q1, Q2 and Q4; Q3's only drill failed (its cache
    store did not restore)."""
    root = tmp_path_factory.mktemp("drills") / "reports"
    for month in range(1, 13):
        make_run(root, at(2026, month, 2), [restore_record("saas"), restore_record("cache")])
    for month, passed in ((2, True), (5, True), (8, False), (11, True)):
        stores = [restore_record("saas", rto=30.0), restore_record("cache", "passed" if passed else "error")]
        make_run(root, at(2026, month, 20), stores,
                 drill=drill_marker("checkout", ("saas", "cache"), passed=passed, started=at(2026, month, 20)))
    return root


def index_of(root: Path, **kwargs: Any) -> dict[str, Any]:
    return build_index(root, now=kwargs.pop("now", NOW), **kwargs)


def test_drills_in_three_of_four_quarters_say_three_of_four_and_name_the_missing_quarter(root: Path) -> None:
    kpi = index_of(root, first="2026-01", last="2026-12")["kpis"]["drills_quarterly"]
    assert (kpi["text"], kpi["missing_quarters"], kpi["in_progress"]) == ("3 of 4 quarters", ["2026-Q3"], [])
    q3 = kpi["per_quarter"][2]
    assert (q3["quarter"], q3["status"], q3["passed"]) == ("2026-Q3", "failed", False)
    (failed,) = q3["drills"]
    assert (failed["service"], failed["passed"], failed["rto_status"], failed["service_rto_seconds"]) == (
        "checkout", False, "not compared", None)
    assert [row["status"] for row in kpi["per_quarter"]] == ["passed", "passed", "failed", "passed"]


def test_the_index_page_shows_the_quarterly_kpi_beside_the_monthly_one(root: Path) -> None:
    page = render_html(index_of(root, first="2026-01", last="2026-12"))
    cards = re.findall(r"<div class='kpi'><div class='dim'>(.*?)</div><div class='value'>(.*?)</div>"
                       r"<div class='dim'>(.*?)</div></div>", page)
    assert cards[:2] == [("Monthly restore-test completion", "12 of 12 months", "months missing a completed restore: "
                          "none"),
                         ("DR drills", "3 of 4 quarters", "quarters without a passed drill: 2026-Q3")]
    q3 = re.search(r"<tr><th>2026-Q3</th>(.*?)</tr>", page)
    assert q3 is not None and "no drill passed" in q3.group(1) and "service RTO not compared" in q3.group(1)
    august = next(r for r in index_of(root)["months"][7]["runs"] if r["drill"] is not None)
    assert f"<a href='{august['path']}/drill.html'>checkout</a>: failed" in q3.group(1)  # its drill report


def test_always_the_last_four_quarters_and_a_shorter_period_still_has_four(root: Path) -> None:
    kpi = index_of(root, first="2026-04", last="2026-09")["kpis"]["drills_quarterly"]
    assert [row["quarter"] for row in kpi["per_quarter"]] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert kpi["text"] == "2 of 4 quarters"  # 2026-Q1's drill counts: it is in the last four quarters
    assert kpi["missing_quarters"] == ["2025-Q4", "2026-Q3"] and kpi["before_first_run"] == ["2025-Q4"]
    # a year and a month: 2026-Q1 falls out of the window of four
    kpi = index_of(root, first="2026-01", last="2027-01")["kpis"]["drills_quarterly"]
    assert [row["quarter"] for row in kpi["per_quarter"]] == ["2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"]
    assert kpi["missing_quarters"] == ["2026-Q3", "2027-Q1"] and kpi["in_progress"] == ["2027-Q1"]


def test_a_young_archive_names_the_quarters_before_its_first_run_as_missing(tmp_path: Path) -> None:
    """One drill, in the archive's first month: one of four quarters, never "1 of 1"."""
    root = tmp_path / "reports"
    make_run(root, at(2026, 11, 20), [restore_record("saas")], drill=drill_marker(started=at(2026, 11, 20)))
    index = index_of(root, now=datetime(2026, 12, 10, tzinfo=UTC))
    kpi = index["kpis"]["drills_quarterly"]
    assert (kpi["text"], kpi["quarters"]) == ("1 of 4 quarters", 4)
    assert kpi["missing_quarters"] == kpi["before_first_run"] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert [row["status"] for row in kpi["per_quarter"]] == ["no drill", "no drill", "no drill", "passed"]
    page = render_html(index)
    assert ("quarters without a passed drill: 2026-Q1 (before the archive&#39;s first run), 2026-Q2 (before the "
            "archive&#39;s first run), 2026-Q3 (before the archive&#39;s first run)") in page
    assert "<tr><th>2026-Q2 <span class='dim'>(before the archive's first run)</span></th>" in page


def test_each_quarter_shows_which_services_were_drilled_and_the_inventorys_undrilled_ones_are_named(
        tmp_path: Path) -> None:
    """Two quarters drilled checkout, one drilled search and failed; billing was never drilled: the quarterly count
    is of quarters (3 of 4), and the services with no passed drill in the year are named apart."""
    root = tmp_path / "reports"
    for month, service, passed in ((2, "checkout", True), (5, "checkout", True), (8, "search", False),
                                   (11, "checkout", True)):
        make_run(root, at(2026, month, 20), [restore_record("saas")],
                 drill=drill_marker(service, passed=passed, started=at(2026, month, 20)))
    index = index_of(root, first="2026-01", last="2026-12", services=["checkout", "search", "billing"])
    kpi = index["kpis"]["drills_quarterly"]
    assert kpi["text"] == "3 of 4 quarters"
    assert [(r["services_drilled"], r["services_passed"]) for r in kpi["per_quarter"]] == [
        (["checkout"], ["checkout"]), (["checkout"], ["checkout"]), (["search"], []), (["checkout"], ["checkout"])]
    assert (kpi["services_not_drilled"], kpi["services_without_passed_drill"]) == (["billing"], ["search"])
    page = render_html(index)
    cards = dict((label, (value, note)) for label, value, note in re.findall(
        r"<div class='kpi'><div class='dim'>(.*?)</div><div class='value'>(.*?)</div><div class='dim'>(.*?)</div>",
        page))
    assert cards["DR drills"][0] == "3 of 4 quarters"
    assert cards["Services without a passed drill in the last four quarters"] == (
        "2", "not drilled: billing; drilled, never passed: search")
    assert "<td class='services-drilled'>search (not passed)</td>" in page
    assert "<b>not drilled: billing</b>; <b>drilled, never passed: search</b>" in page
    # without the inventory no service is named: not compared, and said so
    bare = index_of(root, first="2026-01", last="2026-12")
    assert bare["kpis"]["drills_quarterly"]["services_not_drilled"] is None
    assert "Services not drilled: not compared (no inventory given" in render_html(bare)
    assert "Services without a passed drill" not in render_html(bare)


def test_a_quarter_still_in_progress_is_named_so(root: Path) -> None:
    kpi = index_of(root, first="2026-04", last="2027-01")["kpis"]["drills_quarterly"]
    page = render_html(index_of(root, first="2026-04", last="2027-01"))
    assert kpi["text"] == "2 of 4 quarters"
    assert "quarters without a passed drill: 2026-Q3, 2027-Q1 (in progress)" in page


def test_drills_are_counted_apart_from_the_monthly_restore_tests(root: Path) -> None:
    index = index_of(root, first="2026-01", last="2026-12")
    assert index["kpis"]["restore_success_rate"] == {"passed": 24, "tests": 24, "rate": 1.0}  # the drills' not in it
    assert index["kpis"]["drills"]["results"] == 8 and index["kpis"]["drills"]["passed"] == 7
    august = index["months"][7]
    assert august["stores"]["cache"]["drill_results"] == 1 and august["stores"]["cache"]["tests"] == 1
    drill_run = next(r for r in august["runs"] if r["drill"] is not None)
    assert [s["kind"] for s in drill_run["stores"]] == ["drill", "drill"]


def test_a_drill_keeps_no_restore_test_fresh(tmp_path: Path) -> None:
    """The newest run is a drill that restored both stores: freshness still reads January's restore test."""
    root = tmp_path / "reports"
    make_run(root, at(2026, 1, 2), [restore_record("saas")])
    make_run(root, at(2026, 3, 2), [restore_record("saas")], drill=drill_marker())
    freshness = check_freshness(root, 35 * 86400.0, now=datetime(2026, 3, 10, tzinfo=UTC))
    assert freshness.newest is not None and freshness.newest.started == at(2026, 1, 2)
    assert freshness.stale and freshness.newer_skipped == 1


def test_is_drill_reads_the_run_marker() -> None:
    run: dict[str, Any] = {"id": "x", "drill": drill_marker()}
    assert is_drill(run) and result_kind(run, restore_record()) == "drill"
    assert not is_drill({"id": "x"}) and result_kind({"id": "x"}, restore_record()) == "restore"
    assert not run_restored({"run": run, "stores": [restore_record()]})


def test_the_drill_marker_passes_the_evidence_schema_and_a_wrong_one_does_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 1, 2), [restore_record("saas")], drill=drill_marker())
    make_run(root, at(2026, 1, 3), [restore_record("saas")], drill=drill_marker(passed=False))
    assert main(["evidence", "verify", str(root)]) == 0
    assert "every evidence.json matches the evidence schema" in capsys.readouterr().out
    wrong = drill_marker()
    wrong["mode"] = "telepathic"
    make_run(root, at(2026, 1, 4), [restore_record("saas")], drill=wrong)
    assert main(["evidence", "verify", str(root)]) == 1
    assert "$.run.drill.mode: 'telepathic' is not one of ['parallel', 'sequential']" in capsys.readouterr().out


def test_the_index_of_an_archive_shows_the_quarterly_kpi(root: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    assert main(["evidence", "upload", str(root), str(archive)]) == 0
    assert main(["evidence", "seal", str(archive)]) == 0
    assert main(["evidence", "index", str(archive), "--from", "2026-01", "--to", "2026-12"]) == 0
    assert "DR drills: 3 of 4 quarters; without a passed drill: 2026-Q3" in capsys.readouterr().out
    index = json.loads((archive / "index.json").read_text())
    assert index["integrity"]["ok"] and index["kpis"]["drills_quarterly"]["missing_quarters"] == ["2026-Q3"]
    page = (archive / "index.html").read_text()
    assert "quarters without a passed drill: 2026-Q3" in page
    assert all((archive / drill["report"]).is_file()  # the drill reports were archived with their runs
               for row in index["kpis"]["drills_quarterly"]["per_quarter"] for drill in row["drills"])
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(INVENTORY)
    assert main(["evidence", "index", str(archive), "--from", "2026-01", "--to", "2026-12",
                 "--inventory", str(inventory)]) == 0
    assert "services in the last four quarters: not drilled: billing" in capsys.readouterr().out
    kpi = json.loads((archive / "index.json").read_text())["kpis"]["drills_quarterly"]
    assert (kpi["services"], kpi["services_not_drilled"]) == (["checkout", "billing"], ["billing"])
