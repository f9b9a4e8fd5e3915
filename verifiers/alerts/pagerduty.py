"""PagerDuty Events API v2: `trigger` for a failed or errored store, `resolve` for a store that passed.

The dedup key is `restoreproof/<store>/<YYYY-MM>`: re-runs in one month update one incident, and a pass
resolves this month's and last month's (a failure found at the end of a month is fixed in the next).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifiers.alerts.config import PagerDutyChannel
from verifiers.alerts.delivery import OutboundRequest
from verifiers.alerts.payload import StoreAlert

SUMMARY_LIMIT = 1024  # payload.summary's maximum length


def requests_for(channel: PagerDutyChannel, secrets: Mapping[str, str], alert: StoreAlert) -> list[OutboundRequest]:
    key = secrets[channel.routing_key_env].strip()
    if not key:
        raise ValueError(f"environment variable {channel.routing_key_env} is empty")
    if alert.action == "trigger":
        return [OutboundRequest(channel.label, alert.store.name, "trigger", channel.url, trigger(channel, key, alert),
                                secrets=(key,))]
    if not channel.resolve:
        return []
    return [OutboundRequest(channel.label, alert.store.name, "resolve", channel.url,
                            {"routing_key": key, "event_action": "resolve", "dedup_key": dedup}, secrets=(key,))
            for dedup in alert.resolve_keys]


def trigger(channel: PagerDutyChannel, routing_key: str, alert: StoreAlert) -> dict[str, Any]:
    problems = alert.problems()
    first = alert.first_problem
    summary = f"{alert.headline}: {first} — {alert.rto_text}" if first else f"{alert.headline} — {alert.rto_text}"
    payload: dict[str, Any] = {
        "summary": summary if len(summary) <= SUMMARY_LIMIT else summary[: SUMMARY_LIMIT - 1] + "…",
        "severity": channel.severity,
        "source": channel.source,
        "component": alert.store.name,
        "class": "restore-verification",
        "custom_details": {**alert.details(), "problems": problems},
    }
    if alert.store.suite:
        payload["group"] = alert.store.suite
    if alert.run.finished is not None:
        payload["timestamp"] = alert.run.finished.isoformat().replace("+00:00", "Z")
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger", "dedup_key": alert.dedup_key,
                             "payload": payload, "client": "restoreproof"}
    if alert.report_link:
        event["client_url"] = alert.report_link
        event["links"] = [{"href": alert.report_link, "text": "Restore verification report"}]
    return event
