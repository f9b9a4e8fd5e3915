"""`restoreproof evidence freshness`: the newest sealed run that restored data against --max-age, over a reports
root and an archive's runs/ layout; hygiene-only and unsealed runs do not keep it fresh; when stale, the channels
of alerts.toml hear of it (a webhook delivered to a local HTTP server), and when fresh the overdue incident is
resolved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.alerts_support import AlertServer, alert_server
from tests.evidence_runs import at, hygiene_record, make_run, restore_record
from verifiers.cli import main
from verifiers.evidence.freshness import check_freshness, run_freshness

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY = 86400.0
MAX_AGE = 35 * DAY


@pytest.fixture
def server() -> Iterator[AlertServer]:
    with alert_server() as running:
        yield running


def reports(tmp_path: Path, *runs: tuple[datetime, dict[str, object]]) -> Path:
    root = tmp_path / "reports"
    root.mkdir(exist_ok=True)
    for started, record in runs:
        make_run(root, started, [record])
    return root


def webhook_config(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text('[delivery]\nattempts = 1\ntimeout = "5s"\n\n'
                    '[[channels]]\ntype = "webhook"\nurl_env = "FRESHNESS_WEBHOOK_URL"\n'
                    '[[channels]]\ntype = "pagerduty"\nrouting_key_env = "FRESHNESS_PD_KEY"\nurl = "{pd}"\n')
    return path


def test_fresh_when_the_newest_restore_is_within_the_max_age(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    root = reports(tmp_path, (at(2026, 2, 3), restore_record()), (at(2026, 3, 3), restore_record("saas", "failed")))
    freshness = check_freshness(root, MAX_AGE, now=NOW)
    assert not freshness.stale and freshness.newest is not None
    assert freshness.newest.started == at(2026, 3, 3) and freshness.age_seconds == 17 * DAY + 10 * 3600
    assert run_freshness(root, max_age="35d", alerts=None, now=NOW) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fresh: the newest restore test under {root} is run 20260303T020000Z-")
    assert "started 2026-03-03T02:00:00Z: 17d10h ago, within --max-age 35d0h" in out


def test_stale_without_alerts_says_how_old_and_the_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    """Daily hygiene runs and an unsealed run after the last restore do not make restore tests fresh."""
    root = reports(tmp_path, (at(2026, 1, 5), restore_record()), (at(2026, 3, 1), hygiene_record()),
                   (at(2026, 3, 19), hygiene_record("saas", "failed")))
    unsealed = make_run(root, at(2026, 3, 19, 6), [restore_record()])
    (unsealed / "SHA256SUMS").unlink()
    assert main(["evidence", "freshness", str(root), "--max-age", "35d"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"STALE: the newest restore test under {root} is run 20260105T020000Z-")
    assert "ago, older than --max-age 35d0h (3 newer runs restored nothing or are not sealed)" in out
    freshness = check_freshness(root, MAX_AGE, now=NOW)
    assert freshness.stale and freshness.age_seconds == 74 * DAY + 10 * 3600
    assert check_freshness(root, 80 * DAY, now=NOW).stale is False


def test_no_restore_on_record_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = reports(tmp_path, (at(2026, 3, 18), hygiene_record()))
    assert run_freshness(root, max_age="35d", alerts=None, now=NOW) == 1
    assert capsys.readouterr().out == (f"STALE: no sealed run under {root} restored data (1 newer run restored "
                                       "nothing or is not sealed): no restore test on record\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_freshness(empty, MAX_AGE, now=NOW).stale


def test_an_archive_with_its_runs_under_runs(tmp_path: Path) -> None:
    """runs/YYYY-MM/<run-id>/ and YYYY-MM/<run-id>/ are both read; the newest across them wins."""
    reports_root = reports(tmp_path, (at(2026, 1, 5), restore_record()), (at(2026, 3, 2), restore_record()))
    archive = tmp_path / "archive"
    (archive / "seals").mkdir(parents=True)
    newest = sorted(reports_root.glob("2026-03/*"))[0]
    shutil.copytree(reports_root / "2026-01", archive / "2026-01")
    shutil.copytree(newest, archive / "runs" / "2026-03" / newest.name)
    freshness = check_freshness(archive, MAX_AGE, now=NOW)
    assert freshness.newest is not None and freshness.newest.path == f"runs/2026-03/{newest.name}"
    assert not freshness.stale
    shutil.rmtree(archive / "runs")
    stale = check_freshness(archive, MAX_AGE, now=NOW, shown_as="git:restore-evidence")
    assert stale.stale and stale.describe().startswith("the newest restore test under git:restore-evidence is run ")
    assert stale.facts()["where"] == "git:restore-evidence"


def test_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "freshness", str(tmp_path / "missing")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["evidence", "freshness", str(tmp_path), "--max-age", "35 days"]) == 2
    assert "--max-age: invalid duration '35 days'" in capsys.readouterr().err


def test_stale_alerts_the_webhook_and_fresh_resolves(tmp_path: Path, server: AlertServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = reports(tmp_path, (at(2026, 1, 5), restore_record()), (at(2026, 3, 10), hygiene_record()))
    config = webhook_config(tmp_path)
    config.write_text(config.read_text().replace("{pd}", server.url("/pagerduty")))
    env = {"FRESHNESS_WEBHOOK_URL": server.url("/hook?token=secret-in-url"), "FRESHNESS_PD_KEY": "pd-routing-key"}
    assert run_freshness(root, max_age="35d", alerts=config, now=NOW, env=env) == 1
    out = capsys.readouterr().out
    assert "alerts: 2 sent, 0 failed (overdue)" in out and "secret-in-url" not in out and "pd-routing-key" not in out
    (hook,) = server.to("/hook?token=secret-in-url")
    event = hook.json()
    assert event["event"] == "restoreproof.restore_tests.overdue"
    assert event["dedup_key"] == "restoreproof/restore-tests/2026-03"
    assert event["summary"] == "restore-tests: restore verification overdue"
    facts = event["store"]["freshness"]
    assert (facts["newest_started"], facts["age_seconds"], facts["max_age_seconds"], facts["stale"]) == (
        "2026-01-05T02:00:00Z", 74 * DAY + 10 * 3600, MAX_AGE, True)
    assert event["store"]["error"]["message"].startswith("no restore test for 74d10h (newest: run 20260105T020000Z-")
    assert "restore tests are due at least every 35d0h" in event["store"]["error"]["message"]
    (page,) = server.to("/pagerduty")
    assert page.json()["event_action"] == "trigger"
    assert page.json()["payload"]["summary"].startswith("restore-tests: restore verification overdue: no restore test "
                                                        "for 74d10h")

    make_run(root, at(2026, 3, 19), [restore_record()])
    assert run_freshness(root, max_age="35d", alerts=config, now=NOW, env=env) == 0
    assert "alerts: 2 sent, 0 failed (resolved)" in capsys.readouterr().out
    assert len(server.to("/hook?token=secret-in-url")) == 1  # a webhook hears of problems only
    resolves = [r.json() for r in server.to("/pagerduty")][1:]
    assert [(r["event_action"], r["dedup_key"]) for r in resolves] == [
        ("resolve", "restoreproof/restore-tests/2026-03"), ("resolve", "restoreproof/restore-tests/2026-02")]


def test_an_undelivered_alert_is_a_failure_even_when_fresh(tmp_path: Path, server: AlertServer,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = reports(tmp_path, (NOW - timedelta(days=2), restore_record()))
    config = webhook_config(tmp_path)
    config.write_text(config.read_text().replace("{pd}", server.url("/pagerduty")))
    assert run_freshness(root, max_age="35d", alerts=config, now=NOW, env={"FRESHNESS_WEBHOOK_URL": server.url("/h")}
                         ) == 1
    out = capsys.readouterr().out
    assert out.startswith("fresh: ") and "FAILED: pagerduty: nothing sent: environment variable FRESHNESS_PD_KEY" in out
