"""What `restoreproof janitor` does alike on every cloud (aws_janitor.py, gcp_janitor.py): read --older-than,
sort what was found into stale and recent by age, say how old a leftover is, and print the report (what was or
would be deleted, what was kept, what could not be deleted, a summary) with the exit code. Finding and deleting
are each cloud's own, in its own module."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from verifiers.durations import format_duration, parse_duration
from verifiers.errors import RestoreproofError


class Aged(Protocol):
    """A leftover as the report sees it (each cloud has its own Leftover)."""

    def age(self, now: datetime) -> float | None: ...

    def describe(self, now: datetime) -> str: ...


L = TypeVar("L", bound=Aged)


@dataclass
class Sweep(Generic[L]):
    stale: list[L]
    recent: list[L]
    deleted: list[L] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)  # look like leftovers, not confirmed: never deleted


def older_than_seconds(text: str) -> float:
    """--older-than in seconds; a RestoreproofError naming the flag when it is not a duration."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise RestoreproofError(f"--older-than {text!r}: {exc}", hint="e.g. 30m, 6h or 2d") from None


def by_age(found: list[L], now: datetime, older_than: float) -> Sweep[L]:
    """Stale: at least `older_than` seconds old; recent: the rest, those of unknown age among them (never deleted)."""
    stale = [f for f in found if (age := f.age(now)) is not None and age >= older_than]
    return Sweep(stale=stale, recent=[f for f in found if f not in stale])


def age_seconds(created: datetime | None, now: datetime) -> float | None:
    return None if created is None else (now - created).total_seconds()


def when_created(created: datetime | None, now: datetime) -> str:
    """`created 2026-01-02T03:04:05Z, 2h ago`, or `age unknown`."""
    if created is None:
        return "age unknown"
    return f"created {created:%Y-%m-%dT%H:%M:%SZ}, {format_duration((now - created).total_seconds())} ago"


def print_report(result: Sweep[L], *, now: datetime, older_than: float, deleting: bool, found: str,
                 could_not_delete: str) -> int:
    """Print the sweep; 2 when a deletion failed, else 0. `found` names what was looked for ("sandbox(es) tagged
    …"); an error line reads `restoreproof: error: janitor could not delete` + `could_not_delete` + the error."""
    verb = "deleted" if deleting else "would delete"
    for leftover in result.stale:
        if leftover in result.deleted or not deleting:
            print(f"{verb}: {leftover.describe(now)}")
    for leftover in result.recent:
        print(f"kept (newer than {format_duration(older_than)}): {leftover.describe(now)}")
    for line in result.unconfirmed:
        print(f"not confirmed, not deleted: {line}")
    for error in result.errors:
        print(f"restoreproof: error: janitor could not delete{could_not_delete}{error}", file=sys.stderr)
    summary = f"janitor: {len(result.stale)} {found} older than {format_duration(older_than)}"
    if not deleting:
        summary += "; dry run, nothing deleted (pass --delete to delete them)" if result.stale else ""
    else:
        summary += f"; {len(result.deleted)} deleted"
    print(summary)
    return 2 if result.errors else 0
