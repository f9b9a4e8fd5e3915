"""The alert path end to end, as the monthly CI job runs it: `pytest suites/rds` on the demo backup with a
failing assertion (a subprocess, real evidence), then `restoreproof summary` and `restoreproof notify`
(subprocesses, secrets in the environment) against a local server standing in for every channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.saas_demo import MARKER
from tests.alerts_support import AlertServer, alert_server
from tests.conftest import Capture

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REPORT = "https://ci.example.com/acme/infra/actions/runs/42"

INVENTORY = """
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
[stores.source]
type = "file"
path = "backups/saas-*.dump"
[[stores.assertions]]
name = "impossible"
sql = "SELECT count(*) FROM public.users"
expect = 1
"""


@pytest.fixture
def server() -> Iterator[AlertServer]:
    with alert_server() as running:
        yield running


@pytest.fixture
def failed_run(tmp_path: Path, demo_capture: Capture) -> Path:
    """A project whose demo store fails one assertion, verified once: its reports directory."""
    (tmp_path / "backups").mkdir()
    for path in (demo_capture.dump, demo_capture.manifest):
        (tmp_path / "backups" / path.name).write_bytes(path.read_bytes())
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    suite = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "rds"), "--inventory", "inventory.toml",
                            "--reports-dir", "reports", "-p", "no:cacheprovider"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert suite.returncode == 1, suite.stdout[-3000:]
    return tmp_path / "reports"


def restoreproof(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "restoreproof"), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, **(env or {})})


def test_failing_demo_store_is_summarised_and_alerted_on_every_channel(failed_run: Path, server: AlertServer,
                                                                       tmp_path: Path) -> None:
    (run_dir,) = failed_run.glob("*/*")
    month = time.strftime("%Y-%m", time.gmtime())
    evidence = json.loads((run_dir / "evidence.json").read_text())
    (record,) = evidence["stores"]
    assert record["status"] == "failed"

    summary = restoreproof("summary", "reports", "--report-url", REPORT, cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert "### Restore verification: ❌ failed" in summary.stdout
    assert "| saas | ❌ failed | " in summary.stdout
    assert "assertion impossible: returned 400, expected 1 |" in summary.stdout

    (tmp_path / "alerts.toml").write_text(f"""
[delivery]
timeout = "10s"
[[channels]]
type = "slack"
url_env = "SLACK_WEBHOOK_URL"
[[channels]]
type = "pagerduty"
routing_key_env = "PAGERDUTY_ROUTING_KEY"
url = "{server.url('/v2/enqueue')}"
[[channels]]
type = "opsgenie"
api_key_env = "OPSGENIE_API_KEY"
url = "{server.url()}"
[[channels]]
type = "webhook"
url_env = "ALERT_WEBHOOK_URL"
""")
    secrets = {"SLACK_WEBHOOK_URL": server.url("/services/T0/B0/sl4ck-s3cret"), "PAGERDUTY_ROUTING_KEY": "pd-key-1",
               "OPSGENIE_API_KEY": "og-key-1", "ALERT_WEBHOOK_URL": server.url("/hook?token=wh-t0ken")}
    notify = restoreproof("notify", "reports", "--config", "alerts.toml", "--report-url", REPORT, cwd=tmp_path,
                          env=secrets)
    assert notify.returncode == 0, notify.stdout + notify.stderr
    for secret in ("sl4ck-s3cret", "pd-key-1", "og-key-1", "wh-t0ken"):
        assert secret not in notify.stdout + notify.stderr

    (to_slack,) = server.to("/services/T0/B0/sl4ck-s3cret")
    slack = to_slack.json()
    assert slack["text"].startswith("restoreproof: saas: restore verification failed (1 of ")
    assert "• assertion impossible: returned 400, expected 1" in slack["blocks"][2]["text"]["text"]
    assert slack["blocks"][3]["elements"][0]["url"] == REPORT

    (to_pagerduty,) = server.to("/v2/enqueue")
    event = to_pagerduty.json()
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == (
        "pd-key-1", "trigger", f"restoreproof/saas/{month}")
    assert event["payload"]["summary"].startswith(
        "saas: restore verification failed (1 of ")
    assert "checks failed): assertion impossible: returned 400, expected 1 — RTO " in event["payload"]["summary"]
    assert (event["payload"]["severity"], event["payload"]["source"]) == ("critical", "restoreproof")
    assert event["payload"]["custom_details"]["run_id"] == run_dir.name

    (to_opsgenie,) = server.to("/v2/alerts")
    assert to_opsgenie.headers["authorization"] == "GenieKey og-key-1"
    alert = to_opsgenie.json()
    assert (alert["alias"], alert["priority"], alert["entity"]) == (f"restoreproof/saas/{month}", "P2", "saas")
    assert "- assertion impossible: returned 400, expected 1" in alert["description"]

    (to_webhook,) = server.to("/hook?token=wh-t0ken")
    assert to_webhook.json()["store"] == record
    assert to_webhook.json()["run"] == evidence["run"]

    for received in server.received:
        assert MARKER not in received.body.decode()
