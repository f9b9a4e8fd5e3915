"""The alert-response KPI recorded by a real restore run (`pytest suites/redis --alert-response alerts.toml` in a
subprocess, a local Redis/Valkey sandbox, the fake PagerDuty API of tests/alert_services_support.py on a local
server): a backup incident acknowledged after two hours is a failed run check in evidence.json, report.html and the
terminal, and the exit code is non-zero; a period without incidents is "not compared", never a pass; a file
without a source stops the run before anything is restored; a key PagerDuty refuses is a failed check that names
the variable, with the run still sealed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.alert_services_support import FakePagerDuty, PagerDutyIncident
from tests.alerts_support import AlertServer, alert_server
from tests.redis_support import RedisCapture, cache_project
from verifiers.evidence.chain import Problem
from verifiers.evidence.conformance import evidence_problems

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "pd-read-t0ken-run-5ecret"
HOUR = timedelta(hours=1)


@pytest.fixture
def pagerduty() -> Iterator[tuple[AlertServer, FakePagerDuty]]:
    with alert_server() as server:
        fake = FakePagerDuty(TOKEN)
        fake.install(server)
        yield server, fake


def _project(tmp_path: Path, capture: RedisCapture, alerts: str) -> Path:
    (tmp_path / "alerts.toml").write_text(alerts)
    return cache_project(tmp_path, capture)


def _alerts(server: AlertServer) -> str:
    return f"""
[response]
target = "PT1H"
period = "P30D"

[response.pagerduty]
token_env = "PD_READ_TOKEN"
api_url = "{server.url()}"
"""


def _run(project: Path, token: str = TOKEN) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    result = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "redis"), "--inventory", "inventory.toml",
                             "--reports-dir", "reports", "--alert-response", "alerts.toml", "-p", "no:cacheprovider"],
                            cwd=project, capture_output=True, text=True, timeout=300, check=False,
                            env={**_env(), "PD_READ_TOKEN": token})
    (path,) = sorted((project / "reports").glob("*/*/evidence.json"))[-1:]
    record: dict[str, Any] = json.loads(path.read_text())
    assert evidence_problems("run", record) == list[Problem]()
    assert (path.parent / "SHA256SUMS").is_file()  # sealed, whatever the KPI
    return result, record, path.parent


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_a_slow_acknowledgement_fails_the_run(tmp_path: Path, redis_capture: RedisCapture,
                                             pagerduty: tuple[AlertServer, FakePagerDuty]) -> None:
    server, fake = pagerduty
    now = datetime.now(UTC)
    fake.incidents += [PagerDutyIncident("QFAST", "Backup failed: orders", now - 3 * 24 * HOUR, timedelta(minutes=9)),
                       PagerDutyIncident("QSLOW", "Backup failed: carts", now - 2 * 24 * HOUR, 2 * HOUR),
                       PagerDutyIncident("QOLD", "Backup failed: carts", now - 40 * 24 * HOUR)]  # before the period
    result, record, run_dir = _run(_project(tmp_path, redis_capture, _alerts(server)))
    assert result.returncode == 1, result.stdout[-3000:]
    assert record["stores"][0]["status"] == "passed"  # the restore passed ...
    assert record["run"]["status"] == "failed"  # ... the alert response did not
    (check,) = record["run_checks"]
    assert (check["check"], check["subject"], check["passed"]) == ("alert_response", "backup alerts", False)
    assert check["observed"] == {"incidents": 2, "within_target": 1, "share_percent": 50.0,
                                 "slow": [["pagerduty:QSLOW", 7200]]}
    assert check["expected"] == {"within_seconds": 3600.0, "share_percent": 100.0}
    assert "alert_response backup alerts: FAILED" in result.stdout
    assert "pagerduty:QSLOW (2h00m)" in (run_dir / "report.html").read_text()
    everything = result.stdout + result.stderr + "".join(p.read_text() for p in run_dir.iterdir() if p.is_file())
    assert TOKEN not in everything


def test_a_period_without_incidents_is_not_compared(tmp_path: Path, redis_capture: RedisCapture,
                                                    pagerduty: tuple[AlertServer, FakePagerDuty]) -> None:
    server, _ = pagerduty
    result, record, _ = _run(_project(tmp_path, redis_capture, _alerts(server)))
    assert result.returncode == 0, result.stdout[-3000:]
    (check,) = record["run_checks"]
    assert (check["passed"], check["expected"]) == (None, None)
    assert check["detail"].startswith("not compared: no backup alert was created from ")
    assert record["run"]["status"] == "passed"


def test_a_refused_key_is_a_failed_check_naming_the_variable(
        tmp_path: Path, redis_capture: RedisCapture, pagerduty: tuple[AlertServer, FakePagerDuty]) -> None:
    server, _ = pagerduty
    result, record, _ = _run(_project(tmp_path, redis_capture, _alerts(server)), token="not-the-key")
    assert result.returncode == 1, result.stdout[-3000:]
    (check,) = record["run_checks"]
    assert check["passed"] is False
    assert "the alert services could not be read" in check["detail"] and "PD_READ_TOKEN" in check["detail"]
    assert "not-the-key" not in json.dumps(record)


def test_a_file_without_a_source_stops_the_run_before_any_restore(tmp_path: Path,
                                                                  redis_capture: RedisCapture) -> None:
    project = _project(tmp_path, redis_capture, "[response]\ntarget = \"PT1H\"\n")
    result = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "redis"), "--inventory", "inventory.toml",
                             "--reports-dir", "reports", "--alert-response", "alerts.toml", "-p", "no:cacheprovider"],
                            cwd=project, capture_output=True, text=True, timeout=120, check=False, env=_env())
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]  # pytest's usage error
    assert "alerts.toml: response: no alert source to read" in result.stderr
    assert "[response.pagerduty]" in result.stderr
    assert not (project / "reports").exists()
