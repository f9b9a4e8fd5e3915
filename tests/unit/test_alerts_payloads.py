"""What each channel is sent, exactly, for a failed store, an errored one and a passed one (built from an
evidence record of the shape the harness writes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.alerts_support import RUN_ID, check, evidence, failing_store, store, write_run
from verifiers.alerts import opsgenie, pagerduty, slack, webhook
from verifiers.alerts.config import (
    AlertConfig,
    OpsgenieChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
    parse_alert_config,
)
from verifiers.alerts.notify import plan_requests
from verifiers.alerts.payload import StoreAlert, overdue_alert, previous_month, stand_in_alert, store_alerts
from verifiers.evidence import SCHEMA_PATH
from verifiers.run_record import load_run

REPORT = f"https://ci.example.com/acme/infra/actions/runs/{RUN_ID}"
SECRETS = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/sl4ck-s3cret",
           "PAGERDUTY_ROUTING_KEY": "pd-r0uting-key", "OPSGENIE_API_KEY": "og-ap1-key",
           "ALERT_WEBHOOK_URL": "https://hooks.example.com/restore?token=wh-t0ken",
           "ALERT_WEBHOOK_AUTH": "Bearer wh-auth"}
CONFIG: dict[str, Any] = {"channels": [
    {"type": "slack", "url_env": "SLACK_WEBHOOK_URL"},
    {"type": "pagerduty", "routing_key_env": "PAGERDUTY_ROUTING_KEY"},
    {"type": "opsgenie", "api_key_env": "OPSGENIE_API_KEY", "tags": ["restoreproof", "backups"]},
    {"type": "webhook", "url_env": "ALERT_WEBHOOK_URL", "authorization_env": "ALERT_WEBHOOK_AUTH"},
]}
FAILED_CHECKS = ["checksum public.users: checksum differs: restored 0x1f, expected 0x2e; differs in id 1493..1515 "
                 "(23 rows restored, 23 captured)", "assertion no orphan invoices: returned 3, expected 0"]


def alerts_for(tmp_path: Path, *stores: dict[str, Any], report_url: str | None = REPORT) -> list[StoreAlert]:
    return store_alerts(load_run(write_run(tmp_path, evidence(*stores))), report_url)


def config() -> AlertConfig:
    return parse_alert_config(CONFIG, Path("alerts.toml"))


def channel(kind: type[Any]) -> Any:
    return next(c for c in config().channels if isinstance(c, kind))


def test_the_test_evidence_has_the_shape_the_harness_writes() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    errored = store("cache", "error", checks=[], error={"phase": "restore", "message": "x"}, rto=None)
    jsonschema.validate(evidence(failing_store(), errored, store("app")), schema)


def test_slack_message_names_store_failed_checks_rto_rpo_and_report(tmp_path: Path) -> None:
    (alert,) = alerts_for(tmp_path, failing_store())
    assert slack.message(alert) == {
        "text": "restoreproof: saas: restore verification failed (2 of 6 checks failed)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "emoji": True, "text":
                ":rotating_light: saas: restore verification failed (2 of 6 checks failed)"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": "*Store*\nsaas (postgres)"},
                {"type": "mrkdwn", "text": f"*Run*\n`{RUN_ID}`"},
                {"type": "mrkdwn", "text": "*RTO* (restore time)\n4.13s (target 15m00s)"},
                {"type": "mrkdwn", "text": "*RPO* (backup age)\n2d4h (target 30d0h)"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*What failed*\n• " + "\n• ".join(FAILED_CHECKS)}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": REPORT}]},
        ],
    }


def test_slack_escapes_its_control_characters_and_skips_passed_stores(tmp_path: Path) -> None:
    odd = store("saas", "failed", checks=[check("schema", "database", False, "view <a&b> differs")])
    failed, passed = alerts_for(tmp_path, odd, store("app"), report_url=None)
    text = slack.message(failed)["blocks"][2]["text"]["text"]
    assert text == "*What failed*\n• schema database: view &lt;a&amp;b&gt; differs"
    assert all(block["type"] != "actions" for block in slack.message(failed)["blocks"])  # no report link given
    assert slack.requests_for(channel(SlackChannel), SECRETS, passed) == []


def test_pagerduty_trigger_event(tmp_path: Path) -> None:
    (alert,) = alerts_for(tmp_path, failing_store())
    (request,) = pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)
    assert request.url == "https://events.pagerduty.com/v2/enqueue"
    assert request.body == {
        "routing_key": "pd-r0uting-key",
        "event_action": "trigger",
        "dedup_key": "restoreproof/saas/2026-11",
        "payload": {
            "summary": f"saas: restore verification failed (2 of 6 checks failed): {FAILED_CHECKS[0]} — RTO 4.13s "
                       "(target 15m00s)",
            "severity": "critical",
            "source": "restoreproof",
            "component": "saas",
            "group": "rds",
            "class": "restore-verification",
            "timestamp": "2026-11-03T06:19:30.500000Z",
            "custom_details": {"store": "saas", "kind": "postgres", "suite": "rds", "status": "failed",
                               "rto": "4.13s (target 15m00s)", "rpo": "2d4h (target 30d0h)", "run_id": RUN_ID,
                               "month": "2026-11", "report": REPORT, "problems": FAILED_CHECKS},
        },
        "client": "restoreproof",
        "client_url": REPORT,
        "links": [{"href": REPORT, "text": "Restore verification report"}],
    }


def test_pagerduty_errored_store_summary_names_the_error_once(tmp_path: Path) -> None:
    errored = store("cache", "error", checks=[], error={"phase": "restore", "message": "RDB version 12 is too new"},
                    rto=None, kind="redis", suite="redis")
    (alert,) = alerts_for(tmp_path, errored)
    (request,) = pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)
    assert request.body["payload"]["summary"] == ("cache: restore verification errored during restore: RDB version 12 "
                                                  "is too new — RTO not measured (target 15m00s)")
    assert request.body["payload"]["custom_details"]["problems"] == ["error during restore: RDB version 12 is too new"]


def test_pagerduty_resolves_this_and_last_months_incident_when_a_store_passes(tmp_path: Path) -> None:
    (alert,) = alerts_for(tmp_path, store("saas"))
    bodies = [r.body for r in pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)]
    assert bodies == [
        {"routing_key": "pd-r0uting-key", "event_action": "resolve", "dedup_key": "restoreproof/saas/2026-11"},
        {"routing_key": "pd-r0uting-key", "event_action": "resolve", "dedup_key": "restoreproof/saas/2026-10"},
    ]
    no_resolve = PagerDutyChannel(type="pagerduty", routing_key_env="PAGERDUTY_ROUTING_KEY", resolve=False)
    assert pagerduty.requests_for(no_resolve, SECRETS, alert) == []


def test_pagerduty_summary_is_cut_to_its_limit(tmp_path: Path) -> None:
    long = store("saas", "failed", checks=[check("schema", "database", False, "x" * 5000)])
    (alert,) = alerts_for(tmp_path, long)
    (request,) = pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)
    assert len(request.body["payload"]["summary"]) == pagerduty.SUMMARY_LIMIT


def test_opsgenie_create_and_close(tmp_path: Path) -> None:
    failed, passed = alerts_for(tmp_path, failing_store(), store("app"))
    og = channel(OpsgenieChannel)
    (create,) = opsgenie.requests_for(og, SECRETS, failed)
    assert (create.url, dict(create.headers)) == ("https://api.opsgenie.com/v2/alerts",
                                                  {"Authorization": "GenieKey og-ap1-key"})
    assert create.body == {
        "message": "restoreproof: saas: restore verification failed (2 of 6 checks failed)",
        "alias": "restoreproof/saas/2026-11",
        "description": "\n".join(["saas: restore verification failed (2 of 6 checks failed)",
                                  *(f"- {c}" for c in FAILED_CHECKS), "RTO 4.13s (target 15m00s)",
                                  "RPO 2d4h (target 30d0h)", f"run {RUN_ID}", f"report: {REPORT}"]),
        "priority": "P2",
        "source": "restoreproof",
        "entity": "saas",
        "tags": ["restoreproof", "backups"],
        "details": {"store": "saas", "kind": "postgres", "suite": "rds", "status": "failed",
                    "rto": "4.13s (target 15m00s)", "rpo": "2d4h (target 30d0h)", "run_id": RUN_ID, "month": "2026-11",
                    "report": REPORT},
    }
    closes = opsgenie.requests_for(og, SECRETS, passed)
    assert [r.url for r in closes] == [
        "https://api.opsgenie.com/v2/alerts/restoreproof%2Fapp%2F2026-11/close?identifierType=alias",
        "https://api.opsgenie.com/v2/alerts/restoreproof%2Fapp%2F2026-10/close?identifierType=alias",
    ]
    assert closes[0].body == {"source": "restoreproof", "note": f"app passed restore verification (run {RUN_ID})"}


def test_opsgenie_message_is_cut_to_130_characters(tmp_path: Path) -> None:
    errored = store("s" * 63, "error", checks=[], error={"phase": "provision " * 8, "message": "no server"})
    (alert,) = alerts_for(tmp_path, errored)
    assert len(opsgenie.create(channel(OpsgenieChannel), alert)["message"]) == opsgenie.MESSAGE_LIMIT


def test_webhook_carries_the_store_record_as_written(tmp_path: Path) -> None:
    record = failing_store()
    failed, passed = alerts_for(tmp_path, record, store("app"))
    (request,) = webhook.requests_for(channel(WebhookChannel), SECRETS, failed)
    assert request.headers == {"Authorization": "Bearer wh-auth"}
    assert request.body == {
        "event": "restoreproof.store.failed",
        "dedup_key": "restoreproof/saas/2026-11",
        "summary": "saas: restore verification failed (2 of 6 checks failed)",
        "report_url": REPORT,
        "run": evidence(record)["run"],
        "store": record,
    }
    assert webhook.requests_for(channel(WebhookChannel), SECRETS, passed) == []


def test_report_url_placeholders_are_filled(tmp_path: Path) -> None:
    (alert,) = alerts_for(tmp_path, failing_store(),
                          report_url="https://evidence.example.com/{month}/{run_id}/report.html#{store}")
    assert alert.report_link == f"https://evidence.example.com/2026-11/{RUN_ID}/report.html#saas"


@pytest.mark.parametrize(("month", "previous"),
                         [("2026-11", "2026-10"), ("2027-01", "2026-12"), ("2026-10", "2026-09")])
def test_previous_month(month: str, previous: str) -> None:
    assert previous_month(month) == previous


def test_dedup_key_follows_the_runs_month_not_the_clock(tmp_path: Path) -> None:
    record = evidence(failing_store(), run_id="20270131T235959Z-000001", started="2027-01-31T23:59:59Z")
    (alert,) = store_alerts(load_run(write_run(tmp_path, record)), None)
    assert alert.dedup_key == "restoreproof/saas/2027-01"
    assert alert.resolve_keys == ("restoreproof/saas/2027-01", "restoreproof/saas/2026-12")


def test_long_problem_lists_are_counted_not_listed(tmp_path: Path) -> None:
    many = store("saas", "failed", checks=[check("row_count", f"public.t{i}", False, "0 rows") for i in range(30)])
    (alert,) = alerts_for(tmp_path, many)
    problems = alert.problems(limit=20)
    assert len(problems) == 21 and problems[-1] == "… and 10 more (see the report)"


def test_stand_in_for_a_run_without_evidence(tmp_path: Path) -> None:
    alert = stand_in_alert("suite-rds", month="2026-11", problem="the run wrote no evidence", report_url=REPORT)
    assert (alert.action, alert.dedup_key, alert.headline) == (
        "trigger", "restoreproof/suite-rds/2026-11", "suite-rds: restore verification errored during run")
    (request,) = pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)
    assert request.body["payload"]["summary"] == ("suite-rds: restore verification errored during run: the run wrote "
                                                  "no evidence — RTO not measured")
    resolved = stand_in_alert("suite-rds", month="2026-11", problem=None, report_url=None)
    assert resolved.action == "resolve"


def test_overdue_restore_tests_are_told_as_such_on_every_channel() -> None:
    problem = "no restore test for 40d3h (newest: run 20261020T020000Z-a1b2c3); due at least every 35d0h"
    checked = datetime(2026, 11, 29, 5, tzinfo=UTC)
    facts = {"newest_run": "20261020T020000Z-a1b2c3", "age_seconds": 3466800.0, "max_age_seconds": 3024000.0}
    alert = overdue_alert("restore-tests", checked=checked, problem=problem, newest_run="20261020T020000Z-a1b2c3",
                          facts=facts, report_url=None)
    assert (alert.action, alert.dedup_key, alert.headline) == (
        "trigger", "restoreproof/restore-tests/2026-11", "restore-tests: restore verification overdue")
    (page,) = pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, alert)
    assert page.body["payload"]["summary"].startswith(f"restore-tests: restore verification overdue: {problem}")
    (hook,) = webhook.requests_for(channel(WebhookChannel), SECRETS, alert)
    assert hook.body["event"] == "restoreproof.restore_tests.overdue" and hook.body["store"]["freshness"] == facts
    (message,) = slack.requests_for(channel(SlackChannel), SECRETS, alert)
    assert f"error during schedule: {problem}" in json.dumps(message.body, ensure_ascii=False)
    resolved = overdue_alert("restore-tests", checked=checked, problem=None, newest_run="x", facts={}, report_url=None)
    assert resolved.action == "resolve" and slack.requests_for(channel(SlackChannel), SECRETS, resolved) == []
    assert [r.body["dedup_key"] for r in pagerduty.requests_for(channel(PagerDutyChannel), SECRETS, resolved)] == [
        "restoreproof/restore-tests/2026-11", "restoreproof/restore-tests/2026-10"]


def test_plan_covers_every_store_and_channel_and_hides_secrets(tmp_path: Path) -> None:
    alerts = alerts_for(tmp_path, failing_store(), store("app"))
    plan = plan_requests(alerts, config(), SECRETS)
    assert plan.problems == []
    assert [(r.channel, r.action, r.store) for r in plan.requests] == [
        ("slack", "trigger", "saas"), ("pagerduty", "trigger", "saas"), ("opsgenie", "trigger", "saas"),
        ("webhook", "trigger", "saas"), ("pagerduty", "resolve", "app"), ("pagerduty", "resolve", "app"),
        ("opsgenie", "close", "app"), ("opsgenie", "close", "app"),
    ]
    for request in plan.requests:
        shown = request.shown_url + json.dumps(request.shown_headers()) + request.shown_body()
        for secret in ("sl4ck-s3cret", "pd-r0uting-key", "og-ap1-key", "wh-t0ken", "wh-auth"):
            assert secret not in shown, (request.channel, secret)
    assert plan.requests[0].shown_url == "https://hooks.slack.com/***"


def test_plan_reports_a_missing_or_malformed_secret_and_serves_the_other_channels(tmp_path: Path) -> None:
    alerts = alerts_for(tmp_path, failing_store())
    env = {**SECRETS, "SLACK_WEBHOOK_URL": "not a url", "PAGERDUTY_ROUTING_KEY": " "}
    plan = plan_requests(alerts, config(), env)
    assert plan.problems == [
        "pagerduty: nothing sent: environment variable PAGERDUTY_ROUTING_KEY is not set or empty",
        "slack: nothing sent: environment variable SLACK_WEBHOOK_URL does not hold an http(s) URL",
    ]
    assert [r.channel for r in plan.requests] == ["opsgenie", "webhook"]
