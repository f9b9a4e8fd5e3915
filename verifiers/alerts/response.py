"""The alert-response KPI, pure: the backup alerts (incidents) created in a period, each with when it was first
acknowledged, judged against a target time and share ("95% acknowledged within 1 h").

Decisions, as docs/ci.md (Alert response time) states them:
- an incident never acknowledged is NOT within target;
- an incident resolved without an acknowledgement counts as never acknowledged: the integration that raised it
  may have resolved it itself (a retried backup job that succeeded), which is nobody's response; with
  `resolve_counts` on, a team whose responders resolve without acknowledging counts it as answered when it was
  resolved; either way its line says so;
- an incident not yet acknowledged that is still younger than the target when read is pending: it is listed and
  not counted, since it may yet be answered in time;
- no source configured, or no incident in the period: not compared, with the reason (never a pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verifiers.durations import format_duration
from verifiers.run_checks import ALERT_RESPONSE_CHECK, RunCheck

CHECK = ALERT_RESPONSE_CHECK
SUBJECT = "backup alerts"


@dataclass(frozen=True)
class AlertIncident:
    """One backup alert as its service reports it. `id` is the service's own (`pagerduty:Q1ABC`, `opsgenie:…`)."""

    source: str
    id: str
    created: datetime
    acknowledged: datetime | None
    resolved: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.id}"


@dataclass(frozen=True)
class JudgedIncident:
    incident: AlertIncident
    seconds: float | None  # to acknowledge (or to resolve, where that counts); None: never answered
    by: str  # acknowledged | resolved | never | pending
    within: bool | None  # None: pending

    def describe(self) -> str:
        i = self.incident
        when = f"created {i.created.isoformat()}"
        if self.by == "pending":
            return f"{i.key}: {when}: not acknowledged yet (younger than the target): not counted"
        if self.seconds is None:
            how = "never acknowledged" + (" (resolved without acknowledgement)" if i.resolved else "")
        elif self.by == "resolved":
            how = f"resolved after {format_duration(self.seconds)}, never acknowledged"
        else:
            how = f"acknowledged after {format_duration(self.seconds)}"
        return f"{i.key}: {when}: {how}: {'within' if self.within else 'NOT within'} target"


@dataclass(frozen=True)
class ResponseReport:
    since: datetime
    until: datetime
    target_seconds: float
    target_share: float  # percent
    sources: tuple[str, ...]
    incidents: tuple[JudgedIncident, ...]
    not_compared: str | None  # why nothing was judged; None when judged

    @property
    def counted(self) -> list[JudgedIncident]:
        return [j for j in self.incidents if j.within is not None]

    @property
    def within_target(self) -> int:
        return sum(1 for j in self.counted if j.within)

    @property
    def slow(self) -> list[JudgedIncident]:
        """Counted incidents not answered within target (never acknowledged ones included), slowest first."""
        late = [j for j in self.counted if not j.within]
        return sorted(late, key=lambda j: (j.seconds is not None, -(j.seconds or 0.0)))

    @property
    def pending(self) -> list[JudgedIncident]:
        return [j for j in self.incidents if j.within is None]

    @property
    def share(self) -> float | None:
        """Percent acknowledged within target; None when nothing was counted."""
        counted = len(self.counted)
        return 100.0 * self.within_target / counted if counted else None

    @property
    def passed(self) -> bool | None:
        """True: the target share was met; False: not; None: not compared (see `not_compared`)."""
        share = self.share
        if self.not_compared is not None or share is None:
            return None
        return share >= self.target_share - 1e-9

    def summary(self) -> str:
        target = f"{self.target_share:g}% within {format_duration(self.target_seconds)}"
        if self.not_compared is not None:
            return f"alert response: not compared: {self.not_compared} (target {target})"
        verdict = "met" if self.passed else "NOT met"
        return (f"alert response: {self.within_target} of {len(self.counted)} acknowledged within "
                f"{format_duration(self.target_seconds)} ({self.share:.1f}%), target {target}: {verdict}"
                + (f"; {len(self.pending)} pending" if self.pending else ""))

    def as_json(self) -> dict[str, Any]:
        return {
            "since": _iso(self.since), "until": _iso(self.until), "sources": list(self.sources),
            "target_seconds": self.target_seconds, "target_share_percent": self.target_share,
            "counted": len(self.counted), "within_target": self.within_target, "share_percent": self.share,
            "passed": self.passed, "not_compared": self.not_compared,
            "incidents": [{"source": j.incident.source, "id": j.incident.id, "created": _iso(j.incident.created),
                           "acknowledged": _iso(j.incident.acknowledged), "resolved": _iso(j.incident.resolved),
                           "seconds_to_acknowledge": j.seconds, "answered_by": j.by, "within_target": j.within}
                          for j in self.incidents],
        }


def judge_response(incidents: Sequence[AlertIncident], *, since: datetime, until: datetime, as_of: datetime,
                   target_seconds: float, target_share: float, sources: Sequence[str],
                   resolve_counts: bool = False) -> ResponseReport:
    """The KPI over the incidents created in [since, until) (others are ignored), read at `as_of`."""
    chosen = sorted((i for i in incidents if since <= i.created < until), key=lambda i: (i.created, i.key))
    judged = tuple(_judge(i, as_of, target_seconds, resolve_counts) for i in chosen)
    reason = None
    if not sources:
        reason = "no alert source is configured ([response.pagerduty] or [response.opsgenie] in alerts.toml)"
    elif not chosen:
        reason = f"no backup alert was created from {_iso(since)} to {_iso(until)} in {', '.join(sources)}"
    elif not any(j.within is not None for j in judged):
        reason = "every incident of the period is younger than the target and not acknowledged yet"
    return ResponseReport(since, until, target_seconds, target_share, tuple(sources), judged, reason)


def _judge(incident: AlertIncident, as_of: datetime, target: float, resolve_counts: bool) -> JudgedIncident:
    if incident.acknowledged is not None:
        seconds = max(0.0, (incident.acknowledged - incident.created).total_seconds())
        return JudgedIncident(incident, seconds, "acknowledged", seconds <= target)
    if incident.resolved is not None and resolve_counts:
        seconds = max(0.0, (incident.resolved - incident.created).total_seconds())
        return JudgedIncident(incident, seconds, "resolved", seconds <= target)
    if incident.resolved is None and (as_of - incident.created).total_seconds() < target:
        return JudgedIncident(incident, None, "pending", None)
    return JudgedIncident(incident, None, "never", False)


def response_check(report: ResponseReport) -> RunCheck:
    """The KPI as a run-level check (`alert_response`, subject `backup alerts`; verifiers/run_checks.py): observed
    the counts, the share and the slow incidents ([id, seconds], null: never acknowledged); expected the target.
    Not compared (passed None) when no source is configured or the period had no incident."""
    observed: dict[str, Any] = {"incidents": len(report.counted), "within_target": report.within_target,
                                "share_percent": None if report.share is None else round(report.share, 2)}
    if report.slow:
        observed["slow"] = [[j.incident.key, None if j.seconds is None else round(j.seconds)] for j in report.slow]
    if report.pending:
        observed["pending"] = len(report.pending)
    passed = report.passed
    if passed is None:
        return RunCheck(CHECK, SUBJECT, None, observed, None, f"not compared: {report.not_compared}")
    expected = {"within_seconds": report.target_seconds, "share_percent": report.target_share}
    message = report.summary().removeprefix("alert response: ")
    if report.slow:
        message += "; slow: " + ", ".join(_slow(j) for j in report.slow[:10]) + (
            f" and {len(report.slow) - 10} more" if len(report.slow) > 10 else "")
    return RunCheck(CHECK, SUBJECT, passed, observed, expected, message)


def _slow(judged: JudgedIncident) -> str:
    return f"{judged.incident.key} ({'never' if judged.seconds is None else format_duration(judged.seconds)})"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
