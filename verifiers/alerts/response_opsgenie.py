"""Backup alerts from Opsgenie's Alert API and when each was first acknowledged.

GET /v2/alerts with the configured search query, newest first (sort=createdAt, order=desc), limit 100, offset,
until the answer's `paging.next` is absent or a page reaches back before the period. The period is applied here:
only the documented list parameters are relied on, no date syntax in the query. An alert listed twice (offsets
shift when one arrives while paging) is counted once. Each alert's `report.ackTime` is the milliseconds from its
creation to its first acknowledgement (kept after an unacknowledge, so `acknowledged`, the current state, is not
used) and `report.closeTime` to its closing. Offsets are counted here, not taken from `paging.next`: the key is
sent only to the configured host.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from verifiers.alerts.config import OpsgenieResponseSource
from verifiers.alerts.delivery import RetryPolicy, Sleep
from verifiers.alerts.response import AlertIncident
from verifiers.alerts.response_http import ApiReader, ResponseSourceError

SOURCE = "opsgenie"
PAGE = 100  # the Alert API's largest page


def reader(source: OpsgenieResponseSource, key: str, policy: RetryPolicy, *,
           sleep: Sleep = time.sleep) -> ApiReader:
    return ApiReader("Opsgenie", source.api_url, {"Authorization": f"GenieKey {key}"}, key, source.api_key_env,
                     "an Opsgenie API key with read access (an API integration's key, or Settings > API key "
                     "management) for this account's region (EU accounts: api_url https://api.eu.opsgenie.com)",
                     policy, sleep)


def read_alerts(api: ApiReader, source: OpsgenieResponseSource, since: datetime, until: datetime
                ) -> list[AlertIncident]:
    """Every alert the query selects created in [since, until), with its first acknowledgement and closing."""
    found: dict[str, AlertIncident] = {}
    offset = 0
    while True:
        page = api.get("/v2/alerts", [("query", source.query), ("sort", "createdAt"), ("order", "desc"),
                                      ("limit", PAGE), ("offset", offset)])
        alerts = page.get("data")
        if not isinstance(alerts, list) or not all(isinstance(alert, dict) for alert in alerts):
            raise ResponseSourceError(f"Opsgenie API: GET {api.base_url}/v2/alerts: the answer has no `data` list")
        listed = [_incident(api, alert) for alert in alerts]
        for incident in listed:
            if since <= incident.created < until:
                found.setdefault(incident.id, incident)
        paging = page.get("paging")
        if not listed or not (isinstance(paging, dict) and paging.get("next")) or listed[-1].created < since:
            return sorted(found.values(), key=lambda i: i.created)
        offset += len(listed)


def _incident(api: ApiReader, alert: dict[str, Any]) -> AlertIncident:
    ident = alert.get("id")
    if not isinstance(ident, str) or not ident:
        raise ResponseSourceError(f"Opsgenie API ({api.base_url}): an alert has no `id`")
    created_text = alert.get("createdAt")
    try:
        created = datetime.fromisoformat(str(created_text))
    except ValueError:
        raise ResponseSourceError(f"Opsgenie API ({api.base_url}): alert {ident}: `createdAt` {created_text!r} is "
                                  "not a timestamp") from None
    if created.tzinfo is None:
        raise ResponseSourceError(f"Opsgenie API ({api.base_url}): alert {ident}: `createdAt` has no time zone")
    given = alert.get("report")
    report: dict[str, Any] = given if isinstance(given, dict) else {}
    acknowledged = _after(api, ident, created, report, "ackTime")
    closed = _after(api, ident, created, report, "closeTime") if alert.get("status") == "closed" else None
    return AlertIncident(SOURCE, ident, created, acknowledged, closed)


def _after(api: ApiReader, ident: str, created: datetime, report: dict[str, Any], name: str) -> datetime | None:
    value = report.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ResponseSourceError(f"Opsgenie API ({api.base_url}): alert {ident}: `report.{name}` {value!r} is not "
                                  "a number of milliseconds")
    return created + timedelta(milliseconds=value)
