"""Fake PagerDuty REST v2 and Opsgenie Alert APIs on the alert tests' local server (tests/alerts_support.py),
behaving as their documentation says for what `restoreproof alerts response` asks:

- PagerDuty: `Authorization: Token token=KEY` and `Accept: application/vnd.pagerduty+json;version=2` (else 401 /
  406); GET /incidents filters on creation by since/until (both included) and on service_ids[], pages by limit
  (at most 100, else 400) and offset with `more`; GET /incidents/{id}/log_entries lists the incident's entries
  newest first, paged alike.
- Opsgenie: `Authorization: GenieKey KEY` (else 401); GET /v2/alerts takes a search query (`tag:NAME` here;
  anything else: 422, as a query Opsgenie cannot parse), sort=createdAt, order (default desc), limit (at most
  100, else 422) and offset, and gives `paging.next` while more remain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.alerts_support import AlertServer, Received, Reply

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # the first incident of the tests' month


def _json(status: int, body: Any) -> Reply:
    return Reply(status, json.dumps(body).encode(), (("Content-Type", "application/json"),))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class PagerDutyIncident:
    id: str
    title: str
    created: datetime
    acknowledged_after: timedelta | None = None  # first acknowledgement
    resolved_after: timedelta | None = None
    service: str = "PBACKUP"
    reacknowledged_after: timedelta | None = None  # a later acknowledgement (after an unacknowledge/escalation)
    notifications: int = 1  # notify_log_entry entries, a second apart from `notified_after`
    notified_after: timedelta = timedelta(seconds=5)

    def log_entries(self) -> list[dict[str, Any]]:
        entries = [("trigger_log_entry", timedelta(0))]
        entries += [("notify_log_entry", self.notified_after + timedelta(seconds=n))
                    for n in range(self.notifications)]
        for kind, after in (("acknowledge_log_entry", self.acknowledged_after),
                            ("acknowledge_log_entry", self.reacknowledged_after),
                            ("resolve_log_entry", self.resolved_after)):
            if after is not None:
                entries.append((kind, after))
        ordered = sorted(entries, key=lambda e: e[1], reverse=True)  # newest first, as PagerDuty lists them
        return [{"id": f"R{self.id}{n}", "type": kind, "created_at": _iso(self.created + after)}
                for n, (kind, after) in enumerate(ordered)]


@dataclass
class FakePagerDuty:
    token: str
    incidents: list[PagerDutyIncident] = field(default_factory=list)

    def install(self, server: AlertServer) -> None:
        server.route("/incidents", self.answer)

    def answer(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Token token={self.token}":
            return _json(401, {"error": {"message": "Unauthorized", "code": 2006}})
        if request.headers.get("accept") != "application/vnd.pagerduty+json;version=2":
            return _json(406, {"error": {"message": "Not Acceptable"}})
        query = request.query
        limit, offset = int(query.get("limit", ["25"])[0]), int(query.get("offset", ["0"])[0])
        if limit > 100:
            return _json(400, {"error": {"message": "Invalid Input Provided", "errors": ["Limit must be <= 100"]}})
        found = re.fullmatch(r"/incidents/([^/]+)/log_entries", request.route)
        if found:
            incident = next((i for i in self.incidents if i.id == found.group(1)), None)
            if incident is None:
                return _json(404, {"error": {"message": "Not Found"}})
            return self._page("log_entries", incident.log_entries(), limit, offset)
        if request.route != "/incidents":
            return _json(404, {"error": {"message": "Not Found"}})
        since = datetime.fromisoformat(query["since"][0])
        until = datetime.fromisoformat(query["until"][0])
        services = set(query.get("service_ids[]", []))
        # both ends included: what PagerDuty does with an incident created at `until` is not documented
        chosen = [i for i in sorted(self.incidents, key=lambda i: i.created) if since <= i.created <= until
                  and (not services or i.service in services)]
        shown: list[dict[str, Any]] = [
            {"id": i.id, "type": "incident", "title": i.title, "created_at": _iso(i.created),
             "status": "resolved" if i.resolved_after else "acknowledged" if i.acknowledged_after else "triggered",
             "service": {"id": i.service, "type": "service_reference"}, "acknowledgements": []} for i in chosen]
        return self._page("incidents", shown, limit, offset)

    @staticmethod
    def _page(key: str, items: list[dict[str, Any]], limit: int, offset: int) -> Reply:
        return _json(200, {key: items[offset:offset + limit], "limit": limit, "offset": offset,
                           "more": offset + limit < len(items), "total": None})


@dataclass
class OpsgenieAlert:
    id: str
    tags: tuple[str, ...]
    created: datetime
    acknowledged_after: timedelta | None = None
    closed_after: timedelta | None = None
    unacknowledged: bool = False  # acknowledged, then unacknowledged: `acknowledged` false, ackTime kept

    def shown(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        if self.acknowledged_after is not None:
            report |= {"ackTime": int(self.acknowledged_after.total_seconds() * 1000), "acknowledgedBy": "oncall"}
        if self.closed_after is not None:
            report |= {"closeTime": int(self.closed_after.total_seconds() * 1000), "closedBy": "oncall"}
        return {"id": self.id, "tinyId": self.id[-3:], "alias": f"alias-{self.id}", "message": "backup failed",
                "status": "closed" if self.closed_after is not None else "open",
                "acknowledged": self.acknowledged_after is not None and not self.unacknowledged,
                "tags": list(self.tags), "createdAt": self.created.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"), "report": report}


@dataclass
class FakeOpsgenie:
    key: str
    base_url: str
    alerts: list[OpsgenieAlert] = field(default_factory=list)

    def install(self, server: AlertServer) -> None:
        server.route("/v2/alerts", self.answer)

    def answer(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"GenieKey {self.key}":
            return _json(401, {"message": "Could not authenticate", "took": 0.0, "requestId": "r-401"})
        query = request.query
        limit, offset = int(query.get("limit", ["20"])[0]), int(query.get("offset", ["0"])[0])
        if limit > 100:
            return _json(422, {"message": "Limit should be between 1 and 100"})
        matches = self._matcher(query.get("query", [""])[0])
        if matches is None:
            return _json(422, {"message": "Invalid query"})
        chosen = sorted((a for a in self.alerts if matches(a)), key=lambda a: a.created,
                        reverse=query.get("order", ["desc"])[0] == "desc")
        page = chosen[offset:offset + limit]
        paging = {"first": self._link(query, 0, limit)}
        if offset + limit < len(chosen):
            paging["next"] = self._link(query, offset + limit, limit)
        return _json(200, {"data": [a.shown() for a in page], "paging": paging, "took": 0.01, "requestId": "r"})

    @staticmethod
    def _matcher(text: str) -> Any:
        found = re.fullmatch(r"tag:(\S+)", text)
        if not found:
            return None
        return lambda alert: found.group(1) in alert.tags

    def _link(self, query: dict[str, list[str]], offset: int, limit: int) -> str:
        params = {name: values[0] for name, values in query.items()} | {"offset": str(offset), "limit": str(limit)}
        return f"{self.base_url}/v2/alerts?{urlencode(params)}"
