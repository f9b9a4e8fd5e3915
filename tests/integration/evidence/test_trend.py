"""`restoreproof evidence trend` (issue 21, RTO by phase, trended): a store's newest sealed restore against the
median of its previous ones, phase by phase; a phase more than 20% (and at least the floor) slower is a
regression that exits 1 and alerts, a later normal restore resolves it; too little history is said, never
judged; errored, hygiene-only and unsealed runs do not count."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts_support import AlertServer, alert_server
from tests.evidence_runs import at, hygiene_record, make_run, restore_record
from verifiers.cli import main
from verifiers.evidence import chain
from verifiers.evidence.trend import run_trend, trends


@pytest.fixture
def server() -> Iterator[AlertServer]:
    with alert_server() as running:
        yield running


def history(tmp_path: Path, *restores: float, root: str = "reports") -> Path:
    """One sealed run per month from January, the store's restore phase taking `restore` - 3 seconds."""
    reports = tmp_path / root
    reports.mkdir(exist_ok=True)
    for month, rto in enumerate(restores, start=1):
        make_run(reports, at(2026, month), [restore_record("saas", rto=rto)])
    return reports


def test_a_phase_slower_than_the_median_by_more_than_the_threshold_regresses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = history(tmp_path, 53.0, 51.0, 55.0, 52.0, 53.0, 54.0, 68.0)  # restore: 50, 48, 52, 49, 50, 51, then 65
    [trend] = trends(root)
    restore = next(p for p in trend.phases if p.phase == "restore")
    assert (restore.newest, restore.median, restore.history) == (65.0, 50.0, 6)
    assert [p.phase for p in trend.regressions(0.2, 1.0)] == ["restore"]
    assert run_trend(root) == 1
    out = capsys.readouterr().out
    assert "restore 1m05s, median 50.0s of 6 earlier runs (+30%): SLOWER" in out
    assert "provision 2.00s, median 2.00s of 6 earlier runs (+0%): within" in out
    assert "1 of 1 store(s) slower than the median of their last 6 restores by more than 20% in some phase" in out


def test_within_the_threshold_and_under_the_floor_is_no_regression(tmp_path: Path) -> None:
    root = history(tmp_path, 53.0, 53.0, 53.0, 62.0)  # restore 50 -> 59: +18%
    assert run_trend(root) == 0
    [trend] = trends(root)
    assert trend.regressions(0.2, 1.0) == []
    # a 0.2 s phase tripling is still under a 1 s floor; with no floor it is a regression
    tiny = next(p for p in trend.phases if p.phase == "teardown")
    slow = type(tiny)(tiny.phase, 0.6, tiny.median, tiny.history)
    assert not slow.regressed(0.2, 1.0) and slow.regressed(0.2, 0.0)


def test_too_little_history_is_said_never_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = history(tmp_path, 10.0, 10.0, 100.0)
    assert run_trend(root) == 0
    assert "restore 1m37s: not enough history (2 earlier runs, 3 needed)" in capsys.readouterr().out


def test_errored_hygiene_and_unsealed_runs_do_not_count(tmp_path: Path) -> None:
    root = history(tmp_path, 53.0, 53.0, 53.0, 53.0)
    make_run(root, at(2026, 5), [restore_record("saas", "error", rto=500.0)])  # stopped: its phases are partial
    make_run(root, at(2026, 6), [hygiene_record("saas")])  # restored nothing
    unsealed = make_run(root, at(2026, 7), [restore_record("saas", rto=900.0)])
    evidence = unsealed / chain.EVIDENCE
    record = json.loads(evidence.read_text())
    record["stores"][0]["rto"]["phases"]["restore"] = 1.0  # edited after sealing: no longer matches SHA256SUMS
    evidence.write_text(json.dumps(record))
    [trend] = trends(root)
    assert trend.newest.started == at(2026, 4)
    assert trend.regressions(0.2, 1.0) == []


def test_a_slowdown_alerts_and_a_normal_restore_resolves(tmp_path: Path, server: AlertServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = history(tmp_path, 53.0, 53.0, 53.0, 53.0, 73.0)
    config = tmp_path / "alerts.toml"
    config.write_text('[delivery]\nattempts = 1\ntimeout = "5s"\n\n'
                      '[[channels]]\ntype = "webhook"\nurl_env = "TREND_WEBHOOK_URL"\n'
                      f'[[channels]]\ntype = "pagerduty"\nrouting_key_env = "TREND_PD_KEY"\n'
                      f'url = "{server.url("/pagerduty")}"\n')
    env = {"TREND_WEBHOOK_URL": server.url("/hook"), "TREND_PD_KEY": "pd-routing-key"}
    assert run_trend(root, alerts=config, env=env) == 1
    assert "alerts: 2 sent, 0 failed" in capsys.readouterr().out
    (hook,) = server.to("/hook")
    event = hook.json()
    assert event["event"] == "restoreproof.store.slower"
    assert event["summary"] == "saas (restore time): restore verification slower than usual"
    assert event["store"]["trend"]["phases"]["restore"] == {"seconds": 70.0, "median_seconds": 50.0, "history": 4,
                                                            "regressed": True}
    assert event["store"]["error"]["message"].startswith("restore 1m10s, median 50.0s of 4 earlier runs (+40%)")
    (page,) = server.to("/pagerduty")
    assert page.json()["event_action"] == "trigger"

    make_run(root, at(2026, 6), [restore_record("saas", rto=53.0)])
    assert run_trend(root, alerts=config, env=env) == 0
    assert [r.json()["event_action"] for r in server.to("/pagerduty")][1:] == ["resolve", "resolve"]
    assert len(server.to("/hook")) == 1  # a webhook hears of problems only


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = history(tmp_path, 53.0, 53.0, 53.0, 73.0)
    assert main(["evidence", "trend", str(root)]) == 1
    assert "SLOWER" in capsys.readouterr().out
    assert main(["evidence", "trend", str(root), "--threshold", "50%"]) == 0
    assert main(["evidence", "trend", str(root), "--threshold", "fast"]) == 2
    assert "--threshold fast: not a percentage" in capsys.readouterr().err
    assert main(["evidence", "trend", str(root), "--runs", "2"]) == 2


def stepped(restore_data: float) -> dict[str, float]:
    """The steps of a 50 s restore phase whose rows took `restore_data`: the rest of it is schema and indexes."""
    return {"restore_schema": 1.0, "restore_data": restore_data, "restore_indexes": 49.0 - restore_data,
            "first_query": 0.01, "warm": 0.4}


def test_a_slowed_step_alerts_though_its_phase_is_within_the_threshold(
        tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Rows loading 40% slower while index builds got faster: the restore phase moves +12%, under the threshold;
    the step regresses, exits 1 and alerts with the step named, and its facts carry every step."""
    root = tmp_path / "reports"
    root.mkdir()
    make_run(root, at(2026, 1), [restore_record("saas", rto=53.0)])  # before steps were recorded: no history
    for month, seconds in enumerate((20.0, 19.0, 21.0, 20.0), start=2):
        make_run(root, at(2026, month), [restore_record("saas", rto=53.0, steps=stepped(seconds))])
    make_run(root, at(2026, 6), [restore_record("saas", rto=59.0, steps={**stepped(28.0), "restore_indexes": 27.0})])
    [trend] = trends(root)
    restore = next(p for p in trend.phases if p.phase == "restore")
    assert (restore.newest, restore.median) == (56.0, 50.0) and not restore.regressed(0.2, 1.0)
    rows = next(s for s in trend.steps if s.phase == "restore_data")
    assert (rows.newest, rows.median, rows.history) == (28.0, 20.0, 4)  # the run without steps is no history
    assert [s.phase for s in trend.regressions(0.2, 1.0)] == ["restore_data"]
    config = tmp_path / "alerts.toml"
    config.write_text('[delivery]\nattempts = 1\ntimeout = "5s"\n\n'
                      '[[channels]]\ntype = "webhook"\nurl_env = "TREND_WEBHOOK_URL"\n')
    assert run_trend(root, alerts=config, env={"TREND_WEBHOOK_URL": server.url("/hook")}) == 1
    out = capsys.readouterr().out
    assert "  restore 56.0s, median 50.0s of 5 earlier runs (+12%): within\n" \
           "    restore_schema 1.00s, median 1.00s of 4 earlier runs (+0%): within\n" \
           "    restore_data 28.0s, median 20.0s of 4 earlier runs (+40%): SLOWER\n" in out
    (hook,) = server.to("/hook")
    event = hook.json()
    assert event["store"]["error"]["message"] == "restore_data 28.0s, median 20.0s of 4 earlier runs (+40%): SLOWER"
    facts = event["store"]["trend"]
    assert facts["steps"]["restore_data"] == {"seconds": 28.0, "median_seconds": 20.0, "history": 4,
                                              "regressed": True}
    assert facts["phases"]["restore"]["regressed"] is False
    assert set(facts["steps"]) == {"restore_schema", "restore_data", "restore_indexes", "first_query", "warm"}


def test_a_step_not_measured_in_earlier_runs_has_not_enough_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store that moved from a plain dump (no restore steps) to an archive: its steps are not judged until three
    earlier runs timed them, however slow the newest looks."""
    root = tmp_path / "reports"
    root.mkdir()
    for month in (1, 2, 3):
        make_run(root, at(2026, month), [restore_record("saas", rto=53.0, steps={"first_query": 0.01, "warm": 0.4})])
    make_run(root, at(2026, 4), [restore_record("saas", rto=53.0, steps=stepped(40.0))])
    assert run_trend(root) == 0
    out = capsys.readouterr().out
    assert "restore_data 40.0s: not enough history (0 earlier runs, 3 needed)" in out
    assert "warm 0.40s, median 0.40s of 3 earlier runs (+0%): within" in out
