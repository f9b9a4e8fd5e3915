"""Backup incidents from PagerDuty's REST API v2 and when each was first acknowledged.

GET /incidents (since/until: the period, as PagerDuty filters on creation; service_ids[]; limit 100, offset,
until `more` is false), then for each incident GET /incidents/{id}/log_entries, paged alike: its first
acknowledge_log_entry is the first acknowledgement and its first resolve_log_entry the resolution. The incident's
own `acknowledgements` list is not used: it empties when the incident is resolved, and shows only the current
acknowledgers. PagerDuty has no title filter, so `title_match` is applied here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from verifiers.alerts.config import PagerDutyResponseSource
from verifiers.alerts.delivery import RetryPolicy, Sleep
from verifiers.alerts.response import AlertIncident
from verifiers.alerts.response_http import ApiReader, Params, ResponseSourceError

SOURCE = "pagerduty"
PAGE = 100  # the REST API's largest page
WINDOW = timedelta(days=180)  # since..until may span at most six months
ACCEPT = "application/vnd.pagerduty+json;version=2"


def reader(source: PagerDutyResponseSource, token: str, policy: RetryPolicy, *,
           sleep: Sleep = time.sleep) -> ApiReader:
    return ApiReader("PagerDuty", source.api_url, {"Authorization": f"Token token={token}", "Accept": ACCEPT},
                     token, source.token_env, "a PagerDuty REST API key (Integrations > API Access Keys; read-only "
                     "is enough), not an Events API routing key", policy, sleep)


def read_incidents(api: ApiReader, source: PagerDutyResponseSource, since: datetime, until: datetime
                   ) -> list[AlertIncident]:
    """Every incident created in [since, until) of the configured services whose title matches, with its first
    acknowledgement and resolution. PagerDuty searches at most six months at once: a longer period is read in
    windows of WINDOW."""
    title = re.compile(source.title_match, re.IGNORECASE) if source.title_match else None
    found: dict[str, AlertIncident] = {}  # by id: an incident on a window's edge may be listed twice
    start = since
    while start < until:
        end = min(until, start + WINDOW)
        params: list[tuple[str, str | int]] = [("since", _iso(start)), ("until", _iso(end)), ("time_zone", "UTC"),
                                               ("sort_by", "created_at:asc")]
        params += [("service_ids[]", service) for service in source.service_ids]
        for incident in _pages(api, "/incidents", "incidents", params):
            if title is not None and not title.search(str(incident.get("title") or "")):
                continue
            ident, created = _field(api, incident, "id"), _time(api, incident, "created_at")
            if ident not in found:
                acknowledged, resolved = _first_entries(api, ident)
                found[ident] = AlertIncident(SOURCE, ident, created, acknowledged, resolved)
        start = end
    return list(found.values())


def _first_entries(api: ApiReader, incident_id: str) -> tuple[datetime | None, datetime | None]:
    """The first acknowledge_log_entry's and resolve_log_entry's times (entries come newest first: all are read)."""
    firsts: dict[str, datetime] = {}
    path = f"/incidents/{incident_id}/log_entries"
    for entry in _pages(api, path, "log_entries", [("time_zone", "UTC")]):
        kind = entry.get("type")
        if kind in ("acknowledge_log_entry", "resolve_log_entry"):
            at = _time(api, entry, "created_at")
            firsts[kind] = min(at, firsts.get(kind, at))
    return firsts.get("acknowledge_log_entry"), firsts.get("resolve_log_entry")


def _pages(api: ApiReader, path: str, key: str, params: Params) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = api.get(path, [*params, ("limit", PAGE), ("offset", offset)])
        items = page.get(key)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ResponseSourceError(f"PagerDuty API: GET {api.base_url}{path}: the answer has no `{key}` list")
        yield from items
        if not page.get("more") or not items:
            return
        offset += len(items)


def _field(api: ApiReader, item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ResponseSourceError(f"PagerDuty API ({api.base_url}): an entry has no `{name}`")
    return value


def _time(api: ApiReader, item: dict[str, Any], name: str) -> datetime:
    text = _field(api, item, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ResponseSourceError(f"PagerDuty API ({api.base_url}): `{name}` {text!r} is not a timestamp") from None
    if moment.tzinfo is None:
        raise ResponseSourceError(f"PagerDuty API ({api.base_url}): `{name}` {text!r} has no time zone")
    return moment


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
