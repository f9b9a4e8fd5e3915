"""Choosing the moment of a point-in-time restore: `restore_to` ("latest", "random" or an ISO 8601 time with a
zone) within the source's restore window [earliest, latest restorable time]. Pure: the window is read from AWS by
verifiers/sources/rds_point_in_time.py, the restore is verifiers/sandboxes/aws_rds_pitr.py."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

RestoreTo = Literal["latest", "random"] | datetime
RESTORE_TO_HINT = 'write "latest", "random" or an ISO 8601 time with a zone, e.g. "2026-12-01T03:00:00Z"'


def parse_restore_to(text: str) -> RestoreTo:
    """`restore_to` as "latest", "random" or an aware datetime (in UTC); ValueError naming the accepted forms."""
    if text in ("latest", "random"):
        return "latest" if text == "latest" else "random"
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"restore_to {text!r} is not a time: {RESTORE_TO_HINT}") from None
    if moment.tzinfo is None:
        raise ValueError(f"restore_to {text!r} has no zone: add one (\"Z\" or \"+02:00\") so the moment is exact")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class RestoreWindow:
    """The times an instance or cluster can be restored to, from its automated backups and logs."""

    earliest: datetime
    latest: datetime

    def __str__(self) -> str:
        return f"[{_iso(self.earliest)}, {_iso(self.latest)}]"


class OutsideWindow(ValueError):
    """A given restore time the window does not hold (the message names both)."""


def choose_restore_time(target: RestoreTo, window: RestoreWindow, *, seed: int | None = None) -> datetime:
    """The moment to restore to: the latest restorable time, a time drawn uniformly from the window (whole
    seconds; the same for the same seed and window), or the given time, which must lie within the window."""
    if window.latest < window.earliest:
        raise OutsideWindow(f"the restore window {window} is empty (its latest time is before its earliest)")
    if target == "latest":
        return window.latest
    if target == "random":
        span = int((window.latest - window.earliest).total_seconds())
        return window.earliest + timedelta(seconds=random.Random(seed).randint(0, span))  # noqa: S311 (a reproducible pick, not a secret)
    if not window.earliest <= target <= window.latest:
        side = "before the earliest" if target < window.earliest else "after the latest"
        raise OutsideWindow(f"restore_to {_iso(target)} is {side} restorable time: the restore window is {window}")
    return target


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
