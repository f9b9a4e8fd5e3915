"""The backup success rate (check `backup_success`): of the backups scheduled over a period, the share that
completed, judged from what the provider's own history says of each day (verifiers/compliance/success_history.py
reads it). Pure: no SDK, no clock.

The period is the `days` whole UTC days before the day of `now` (today's backup may not be due yet). A day is
scheduled from the latest of the period's start, `since`, the resource's creation and the oldest day the history
still shows (the retention); each scheduled day (or week: 7 days counted back from the period's end) needs one
completed backup. A day without one is named with the status seen (FAILED, EXPIRED, RUNNING, ...) or "missing".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from verifiers.checks import CheckResult, MissedBackup, ScheduledBackups, not_compared
from verifiers.compliance.settings import SuccessRateSettings

CHECK = "backup_success"
LISTED = 20  # missed days a message names (the evidence keeps them all)
SCHEDULE_DAYS = {"daily": 1, "weekly": 7}
MISSING = "missing"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def ending_before(cls, now: datetime, days: int) -> Period:
        last = now.date() - timedelta(days=1)
        return cls(last - timedelta(days=days - 1), last)


@dataclass(frozen=True)
class Bound:
    """A day before which no backup is counted, and why (`the instance was created 2026-11-20`)."""

    day: date
    reason: str


@dataclass(frozen=True)
class History:
    """What one provider history says about the period's days. `disabled`: backups are off, and why (every
    scheduled day is missing); `statuses`: days whose backups did not complete, with the status seen."""

    what: str  # whose history: "AWS Backup jobs of arn:...", "automated snapshots of instance db1"
    completed: frozenset[date]
    statuses: Mapping[date, frozenset[str]] = field(default_factory=dict)
    bounds: Sequence[Bound] = ()
    disabled: str | None = None


def slots(period: Period, start: date, schedule: str) -> list[tuple[date, date]]:
    """The scheduled slots (first day, last day), oldest first: whole days, or whole weeks counted back from the
    period's end, none beginning before `start`."""
    width = timedelta(days=SCHEDULE_DAYS[schedule])
    found: list[tuple[date, date]] = []
    end = period.last
    while end - width + timedelta(days=1) >= max(start, period.first):
        found.append((end - width + timedelta(days=1), end))
        end -= width
    return found[::-1]


def judge(history: History, settings: SuccessRateSettings, period: Period, *, subject: str) -> CheckResult:
    since = [Bound(settings.since, "the backups' start set in hygiene.success_rate.since")] if settings.since else []
    binding = max((b for b in [*history.bounds, *since] if b.day > period.first), key=lambda b: b.day, default=None)
    start = binding.day if binding else period.first
    scheduled = slots(period, start, settings.schedule)
    unit = "day" if settings.schedule == "daily" else "week"
    span = f"{period.first.isoformat()} to {period.last.isoformat()}"
    if not scheduled:
        why = f"; {binding.reason}" if binding else ""
        return not_compared(CHECK, subject, None, f"{history.what}: no {settings.schedule} backup was scheduled from "
                            f"{span}{why}")
    missed = [m for m in (_missed(history, first, last) for first, last in scheduled) if m is not None]
    completed = len(scheduled) - len(missed)
    rate = 100.0 * completed / len(scheduled)
    observed = {"completed": completed, "scheduled": len(scheduled), "percent": round(rate, 3)}
    counted = ScheduledBackups(schedule=settings.schedule, first_day=scheduled[0][0].isoformat(),
                               last_day=period.last.isoformat(), scheduled=len(scheduled), completed=completed,
                               missed=tuple(missed))
    message = f"{history.what}: {completed} of {len(scheduled)} scheduled {settings.schedule} backups from " \
              f"{counted.first_day} to {counted.last_day} completed ({rate:.3f} %)"
    if history.disabled is not None:
        message = f"{history.what}: {history.disabled}: none of the {len(scheduled)} scheduled {settings.schedule} " \
                  f"backups from {counted.first_day} to {counted.last_day} exists"
    elif missed:
        message += f"; {unit}s without a completed backup: " + _listed(missed, weekly=unit == "week")
    if binding:
        message += f" (counted from {binding.day.isoformat()}: {binding.reason})"
    return CheckResult(CHECK, subject, rate >= settings.target, observed, {"min_percent": settings.target}, message,
                       scheduled_backups=counted)


def _missed(history: History, first: date, last: date) -> MissedBackup | None:
    """The slot from `first` to `last` without a completed backup, with the statuses its backups had; None when
    one completed."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if history.disabled is None and any(d in history.completed for d in days):
        return None
    seen = sorted(set().union(*(history.statuses.get(d, frozenset()) for d in days)))
    return MissedBackup(first.isoformat(), "/".join(seen) or MISSING)


def _listed(missed: Sequence[MissedBackup], *, weekly: bool) -> str:
    named = [f"{'week of ' if weekly else ''}{m.day} {m.status}" for m in missed[:LISTED]]
    more = f" and {len(missed) - LISTED} more" if len(missed) > LISTED else ""
    return ", ".join(named) + more
