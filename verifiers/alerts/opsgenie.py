"""Opsgenie Alert API: an alert per failed or errored store, its alias the dedup key
(`restoreproof/<store>/<YYYY-MM>`, so re-runs in one month add to one alert), closed when the store passes
(this month's and last month's alias). Authenticated with `Authorization: GenieKey <key>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from verifiers.alerts.config import OpsgenieChannel
from verifiers.alerts.delivery import OutboundRequest
from verifiers.alerts.payload import StoreAlert

MESSAGE_LIMIT = 130  # Opsgenie's limits on `message` and `description`
DESCRIPTION_LIMIT = 15000


def requests_for(channel: OpsgenieChannel, secrets: Mapping[str, str], alert: StoreAlert) -> list[OutboundRequest]:
    key = secrets[channel.api_key_env].strip()
    if not key:
        raise ValueError(f"environment variable {channel.api_key_env} is empty")
    headers = {"Authorization": f"GenieKey {key}"}
    if alert.action == "trigger":
        return [OutboundRequest(channel.label, alert.store.name, "trigger", f"{channel.url}/v2/alerts",
                                create(channel, alert), headers=headers, secrets=(key,))]
    if not channel.close:
        return []
    note = {"source": "restoreproof", "note": f"{alert.store.name} passed restore verification (run {alert.run.id})"}
    return [OutboundRequest(channel.label, alert.store.name, "close",
                            f"{channel.url}/v2/alerts/{quote(alias, safe='')}/close?identifierType=alias", note,
                            headers=headers, secrets=(key,))
            for alias in alert.resolve_keys]


def create(channel: OpsgenieChannel, alert: StoreAlert) -> dict[str, Any]:
    message = f"restoreproof: {alert.headline}"
    description = alert.text(limit=200)
    return {
        "message": message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…",
        "alias": alert.dedup_key,
        "description": description[:DESCRIPTION_LIMIT],
        "priority": channel.priority,
        "source": "restoreproof",
        "entity": alert.store.name,
        "tags": list(channel.tags),
        "details": alert.details(),
    }
