"""`restoreproof notify` as CI runs it, against a local server standing in for Slack, PagerDuty, Opsgenie and a
webhook: what each receives, exit codes, failures reported per channel with their HTTP status, and secrets
never printed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts_support import RUN_ID, AlertServer, Reply, evidence, failing_store, store, write_run
from verifiers.alerts import opsgenie, pagerduty, slack, webhook
from verifiers.alerts.config import OpsgenieChannel, PagerDutyChannel, load_alert_config
from verifiers.alerts.payload import store_alerts
from verifiers.cli import main
from verifiers.run_record import load_run

REPORT = "https://ci.example.com/acme/infra/actions/runs/42"
SLACK_PATH = "/services/T000/B000/sl4ck-s3cret"
WEBHOOK_PATH = "/hooks/restore?token=wh-t0ken"
SECRETS = ("sl4ck-s3cret", "wh-t0ken", "pd-r0uting-key", "og-ap1-key")
CLOSE_NOV = "/v2/alerts/restoreproof%2Fapp%2F2026-11/close?identifierType=alias"
CLOSE_OCT = "/v2/alerts/restoreproof%2Fapp%2F2026-10/close?identifierType=alias"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlertServer]:
    from tests.alerts_support import alert_server

    with alert_server() as running:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", running.url(SLACK_PATH))
        monkeypatch.setenv("ALERT_WEBHOOK_URL", running.url(WEBHOOK_PATH))
        monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", "pd-r0uting-key")
        monkeypatch.setenv("OPSGENIE_API_KEY", "og-ap1-key")
        yield running


def write_config(tmp_path: Path, server: AlertServer, *, channels: str = "slack pagerduty opsgenie webhook") -> Path:
    blocks = {
        "slack": '[[channels]]\ntype = "slack"\nurl_env = "SLACK_WEBHOOK_URL"\n',
        "pagerduty": f'[[channels]]\ntype = "pagerduty"\nrouting_key_env = "PAGERDUTY_ROUTING_KEY"\n'
                     f'url = "{server.url("/v2/enqueue")}"\n',
        "opsgenie": f'[[channels]]\ntype = "opsgenie"\napi_key_env = "OPSGENIE_API_KEY"\nurl = "{server.url()}"\n',
        "webhook": '[[channels]]\ntype = "webhook"\nurl_env = "ALERT_WEBHOOK_URL"\n',
    }
    path = tmp_path / "alerts.toml"
    path.write_text('[delivery]\ntimeout = "5s"\nattempts = 3\nbackoff = 0.01\n\n'
                    + "\n".join(blocks[name] for name in channels.split()))
    return path


def notify(*args: str | Path) -> int:
    return main(["notify", *map(str, args)])


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_failed_store_alerts_every_channel_and_passed_store_resolves(
        tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path / "reports", evidence(failing_store(), store("app")))
    config = write_config(tmp_path, server)
    assert notify(run_dir, "--config", config, "--report-url", REPORT) == 0

    failed, passed = store_alerts(load_run(run_dir), REPORT)
    _, pd_channel, og_channel, _ = load_alert_config(config).channels
    assert isinstance(pd_channel, PagerDutyChannel) and isinstance(og_channel, OpsgenieChannel)
    (to_slack,) = server.to(SLACK_PATH)
    assert to_slack.json() == slack.message(failed)
    to_pagerduty = [r.json() for r in server.to("/v2/enqueue")]
    assert to_pagerduty == [
        pagerduty.trigger(pd_channel, "pd-r0uting-key", failed),
        {"routing_key": "pd-r0uting-key", "event_action": "resolve", "dedup_key": "restoreproof/app/2026-11"},
        {"routing_key": "pd-r0uting-key", "event_action": "resolve", "dedup_key": "restoreproof/app/2026-10"},
    ]
    assert to_pagerduty[0]["dedup_key"] == "restoreproof/saas/2026-11"
    assert (to_pagerduty[0]["payload"]["severity"], to_pagerduty[0]["payload"]["source"]) == ("critical",
                                                                                         "restoreproof")
    (to_opsgenie,) = server.to("/v2/alerts")
    assert to_opsgenie.headers["authorization"] == "GenieKey og-ap1-key"
    assert to_opsgenie.json() == opsgenie.create(og_channel, failed)
    assert [len(server.to(CLOSE_NOV)), len(server.to(CLOSE_OCT))] == [1, 1]
    (to_webhook,) = server.to(WEBHOOK_PATH)
    assert to_webhook.json() == webhook.event(failed)
    assert to_webhook.json()["store"] == failing_store()
    assert passed.action == "resolve"

    out = capsys.readouterr().out
    assert "sent: slack: trigger saas (HTTP 200, 1 attempt)" in out
    assert "sent: opsgenie: close app (HTTP 200, 1 attempt)" in out
    assert out.splitlines()[-1] == "alerts: 8 sent, 0 failed, 0 channels unusable (1 failed, 0 errored, 1 passed)"
    assert_no_secret(out)


def test_a_refused_channel_is_exit_1_named_with_its_status_and_the_others_still_get_theirs(
        tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.script("/v2/enqueue", Reply(400, b'{"status":"invalid event","message":"Event object is invalid"}'))
    server.script(SLACK_PATH, Reply(500, b"internal_error"), Reply(200, b"ok"))
    run_dir = write_run(tmp_path / "reports", evidence(failing_store()))
    assert notify(run_dir, "--config", write_config(tmp_path, server)) == 1
    captured = capsys.readouterr()
    assert (f"FAILED: pagerduty: trigger saas not delivered to {server.url('/v2/enqueue')}: HTTP 400 after 1 attempt: "
            'refused: Bad Request: {"status":"invalid event","message":"Event object is invalid"}') in captured.out
    assert "sent: slack: trigger saas (HTTP 200, 2 attempts)" in captured.out
    assert len(server.to(SLACK_PATH)) == 2 and len(server.to("/v2/alerts")) == 1 and len(server.to(WEBHOOK_PATH)) == 1
    assert captured.out.splitlines()[-1].startswith("alerts: 3 sent, 1 failed, 0 channels unusable")
    assert_no_secret(captured.out + captured.err)


def test_a_failing_webhook_never_shows_its_url(tmp_path: Path, server: AlertServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    server.script(WEBHOOK_PATH, *[Reply(503, b"maintenance")] * 3)
    run_dir = write_run(tmp_path / "reports", evidence(failing_store()))
    assert notify(run_dir, "--config", write_config(tmp_path, server, channels="webhook")) == 1
    out = capsys.readouterr().out
    assert "FAILED: webhook: trigger saas not delivered to http://127.0.0.1/***: HTTP 503 after 3 attempts: " \
           "Service Unavailable: maintenance" in out
    assert_no_secret(out)


def test_a_missing_secret_is_reported_and_fails_the_step(tmp_path: Path, server: AlertServer,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPSGENIE_API_KEY")
    run_dir = write_run(tmp_path / "reports", evidence(failing_store()))
    assert notify(run_dir, "--config", write_config(tmp_path, server)) == 1
    out = capsys.readouterr().out
    assert "FAILED: opsgenie: nothing sent: environment variable OPSGENIE_API_KEY is not set or empty" in out
    assert len(server.to(SLACK_PATH)) == 1 and server.to("/v2/alerts") == []


def test_dry_run_sends_nothing_and_masks_secrets(tmp_path: Path, server: AlertServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path / "reports", evidence(failing_store()))
    assert notify(run_dir, "--config", write_config(tmp_path, server), "--dry-run") == 0
    out = capsys.readouterr().out
    assert server.received == []
    assert "[dry run] slack: trigger saas: POST http://127.0.0.1/***" in out
    assert '"routing_key": "***"' in out and "Authorization: GenieKey ***" in out
    assert out.splitlines()[-1] == "dry run: 4 requests to send, 0 channels unusable"
    assert_no_secret(out)


def test_nothing_to_send_when_every_store_passed(tmp_path: Path, server: AlertServer,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path / "reports", evidence(store("saas"), store("app")))
    assert notify(run_dir, "--config", write_config(tmp_path, server, channels="slack webhook")) == 0
    assert server.received == []
    assert capsys.readouterr().out == "nothing to send: 0 failed, 0 errored, 2 passed\n"


def test_the_newest_run_of_a_reports_root_is_the_one_told(tmp_path: Path, server: AlertServer) -> None:
    reports = tmp_path / "reports"
    write_run(reports, evidence(store("saas"), run_id="20261001T061700Z-000001", started="2026-10-01T06:17:00Z"))
    write_run(reports, evidence(failing_store()))
    assert notify(reports, "--config", write_config(tmp_path, server, channels="slack")) == 0
    (received,) = server.to(SLACK_PATH)
    assert f"`{RUN_ID}`" in received.body.decode()


def test_a_run_that_wrote_no_evidence_still_alerts(tmp_path: Path, server: AlertServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, server, channels="slack pagerduty")
    assert notify(tmp_path / "reports", "--config", config, "--missing-evidence-as", "suite-rds",
                  "--report-url", REPORT) == 0
    (to_slack,) = server.to(SLACK_PATH)
    assert to_slack.json()["text"] == "restoreproof: suite-rds: restore verification errored during run"
    (trigger,) = [r.json() for r in server.to("/v2/enqueue")]
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"].startswith("restoreproof/suite-rds/")
    assert "the run wrote no evidence" in trigger["payload"]["summary"]
    assert capsys.readouterr().out.splitlines()[-1].endswith("(0 failed, 1 errored, 0 passed)")


def test_evidence_present_resolves_the_stand_in(tmp_path: Path, server: AlertServer) -> None:
    run_dir = write_run(tmp_path / "reports", evidence(store("saas")))
    config = write_config(tmp_path, server, channels="pagerduty")
    assert notify(run_dir, "--config", config, "--missing-evidence-as", "suite-rds") == 0
    keys = [(r.json()["event_action"], r.json()["dedup_key"]) for r in server.to("/v2/enqueue")]
    assert ("resolve", "restoreproof/suite-rds/2026-11") in keys and ("resolve", "restoreproof/saas/2026-11") in keys


@pytest.mark.parametrize(("setup", "message"), [
    ("no-evidence", "no evidence.json in it nor in a run under it"),
    ("bad-config", "alerts.toml: channels[0].url_env: required field is missing"),
    ("no-config", "does not exist — pass --config PATH"),
    ("bad-url", "--report-url 'ci.example.com/run' is not an http(s) URL"),
    ("stand-in-clash", "--missing-evidence-as saas: a store of the run has that name"),
])
def test_bad_input_is_exit_2(tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str], setup: str,
                             message: str) -> None:
    run_dir = write_run(tmp_path / "reports", evidence(failing_store()))
    config = write_config(tmp_path, server)
    args: list[str | Path] = [run_dir, "--config", config]
    if setup == "no-evidence":
        args[0] = tmp_path / "elsewhere"
        (tmp_path / "elsewhere").mkdir()
    elif setup == "bad-config":
        config.write_text('[[channels]]\ntype = "slack"\n')
    elif setup == "no-config":
        config.unlink()
    elif setup == "bad-url":
        args += ["--report-url", "ci.example.com/run"]
    else:
        args += ["--missing-evidence-as", "saas"]
    assert notify(*args) == 2
    assert message in capsys.readouterr().err
    assert server.received == []
