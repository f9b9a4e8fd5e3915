"""A generic JSON webhook: a POST per failed or errored store with its evidence record as written in
evidence.json (counts, digests, names and timings; never row contents), the run, the dedup key and the link.
Restore tests overdue (`evidence freshness`) are the event restoreproof.restore_tests.overdue, their record the
newest restore and the allowed age."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifiers.alerts.config import WebhookChannel
from verifiers.alerts.delivery import OutboundRequest, secret_url
from verifiers.alerts.payload import StoreAlert


def requests_for(channel: WebhookChannel, secrets: Mapping[str, str], alert: StoreAlert) -> list[OutboundRequest]:
    if alert.action != "trigger":
        return []
    url = secret_url(secrets[channel.url_env], channel.url_env)
    headers: dict[str, str] = {}
    hidden = [url]
    if channel.authorization_env:
        headers["Authorization"] = secrets[channel.authorization_env].strip()
        hidden.append(headers["Authorization"])
    return [OutboundRequest(channel.label, alert.store.name, "trigger", url, event(alert), headers=headers,
                            secrets=tuple(hidden), url_is_secret=True)]


def event(alert: StoreAlert) -> dict[str, Any]:
    return {
        "event": "restoreproof.restore_tests.overdue" if alert.about == "overdue"
        else "restoreproof.store.slower" if alert.about == "slower" and alert.store.status != "passed"
        else f"restoreproof.store.{alert.store.status}",
        "dedup_key": alert.dedup_key,
        "summary": alert.headline,
        "report_url": alert.report_link,
        "run": alert.run_record,
        "store": alert.record,
    }
