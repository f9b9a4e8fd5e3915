"""`restoreproof evidence freshness REPORTS_OR_ARCHIVE_DIR --max-age 35d [--alerts alerts.toml]`: have the
restore tests stopped?

A monthly job that never ran writes no evidence, so no run's alert fires; this check, scheduled apart, does. It
reads the newest sealed run that restored data and compares its `run.started` with --max-age. A run counts
when its evidence.json matches its SHA256SUMS and some store of it was restored (result_kinds.py): a daily
hygiene-only run does not keep restore tests fresh.

Layouts: runs under ROOT/YYYY-MM/<run-id>/ (a reports directory, or an archive) and under
ROOT/runs/YYYY-MM/<run-id>/; both are read.

Exit codes: 0 fresh; 1 stale (with --alerts, after alerting), or fresh but an alert request failed; 2 bad
input (raised as a RestoreproofError, reported by verifiers.cli).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers.durations import format_duration, parse_duration
from verifiers.errors import EvidenceError
from verifiers.evidence import chain
from verifiers.evidence.result_kinds import run_restored
from verifiers.sources import sha256_file

if TYPE_CHECKING:
    from verifiers.alerts.config import AlertConfig

EXIT_OK, EXIT_FAILED = 0, 1  # 1: stale, or an alert not delivered
RUNS_DIR = "runs"  # an archive that keeps its runs apart from its seals and index
ALERT_NAME = "restore-tests"  # the pseudo-store the alert is about (one incident per month, as for stores)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class NewestRestore:
    run: str
    path: str  # the run directory, relative to the root read
    started: datetime


@dataclass(frozen=True)
class Freshness:
    """The newest sealed restore of a root (None: none on record) against the longest gap allowed."""

    where: str  # the root as the user named it (an archive's URL, not the local mirror read)
    max_age_seconds: float
    checked: datetime
    newest: NewestRestore | None
    newer_skipped: int  # runs newer than it that restored nothing (hygiene only) or are not sealed

    @property
    def age_seconds(self) -> float | None:
        return None if self.newest is None else (self.checked - self.newest.started).total_seconds()

    @property
    def stale(self) -> bool:
        age = self.age_seconds
        return age is None or age > self.max_age_seconds

    def describe(self) -> str:
        limit = format_duration(self.max_age_seconds)
        many = self.newer_skipped != 1
        skipped = (f" ({self.newer_skipped} newer run{'s' if many else ''} restored nothing or "
                   f"{'are' if many else 'is'} not sealed)") if self.newer_skipped else ""
        if self.newest is None or self.age_seconds is None:
            return f"no sealed run under {self.where} restored data{skipped}: no restore test on record"
        newest = self.newest
        age = format_duration(max(self.age_seconds, 0.0))
        verdict = f"older than --max-age {limit}" if self.stale else f"within --max-age {limit}"
        return (f"the newest restore test under {self.where} is run {newest.run} ({newest.path}), started "
                f"{iso(newest.started)}: {age} ago, {verdict}{skipped}")

    def facts(self) -> dict[str, Any]:
        """As data, for a webhook: the newest restore (or nulls), its age and the allowed age, in seconds."""
        age = self.age_seconds
        return {"where": self.where, "newest_run": self.newest.run if self.newest else None,
                "newest_started": iso(self.newest.started) if self.newest else None,
                "age_seconds": None if age is None else round(age, 3), "max_age_seconds": self.max_age_seconds,
                "checked": iso(self.checked), "stale": self.stale}


def iso(moment: datetime) -> str:
    """A moment as evidence writes it: UTC, ISO 8601, with Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_max_age(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise EvidenceError(f"--max-age: {exc}", hint="e.g. --max-age 35d") from None


def run_directories(root: Path) -> list[tuple[str, Path]]:
    """Every run directory under ROOT/YYYY-MM/ and ROOT/runs/YYYY-MM/, newest first (a run id starts with its
    start time), each with its path relative to the root."""
    if not root.is_dir():
        raise EvidenceError(f"{root}: no such directory",
                            hint="pass a reports directory or an archive directory (one with YYYY-MM/<run-id>/ or "
                                 "runs/YYYY-MM/<run-id>/ in it)")
    found = []
    for base in (root, root / RUNS_DIR):
        if not base.is_dir():
            continue
        for month in (p for p in base.iterdir() if p.is_dir() and _MONTH.match(p.name)):
            found += [(run.name, run.relative_to(root).as_posix(), run) for run in month.iterdir() if run.is_dir()]
    return [(rel, run) for _, rel, run in sorted(found, reverse=True)]


def sealed_evidence(directory: Path) -> dict[str, Any] | None:
    """The run's evidence.json when it matches the run's SHA256SUMS (the run was sealed), else None."""
    sums = directory / chain.SUMS
    evidence = directory / chain.EVIDENCE
    if not sums.is_file() or not evidence.is_file():
        return None
    entries, why = chain.read_sums(sums)
    if why is not None or entries.get(chain.EVIDENCE) != sha256_file(evidence):
        return None
    return chain.read_evidence(evidence)


def started_of(evidence: Mapping[str, Any]) -> datetime | None:
    """The run's start time (run.started), None when it has none readable."""
    try:
        started = datetime.fromisoformat(str((evidence.get("run") or {}).get("started")))
    except ValueError:
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def check_freshness(root: Path, max_age_seconds: float, *, now: datetime | None = None,
                    shown_as: str | None = None) -> Freshness:
    """`shown_as`: how messages name the root (default: its path), e.g. the URL of the archive `root` mirrors."""
    checked, where = now or datetime.now(UTC), shown_as or str(root)
    skipped = 0
    for rel, directory in run_directories(root):
        evidence = sealed_evidence(directory)
        started = started_of(evidence) if evidence is not None else None
        if evidence is not None and started is not None and run_restored(evidence):
            run_id = str((evidence.get("run") or {}).get("id") or directory.name)
            return Freshness(where, max_age_seconds, checked, NewestRestore(run_id, rel, started), skipped)
        skipped += 1
    return Freshness(where, max_age_seconds, checked, None, skipped)


def overdue_problem(freshness: Freshness) -> str:
    due = format_duration(freshness.max_age_seconds)
    if freshness.newest is None or freshness.age_seconds is None:
        return (f"no restore test on record under {freshness.where}: restore tests are due at least every {due}; "
                "is the scheduled restore job running?")
    return (f"no restore test for {format_duration(freshness.age_seconds)} (newest: run {freshness.newest.run}, "
            f"started {iso(freshness.newest.started)}); restore tests are due at least every {due}: has the "
            "scheduled restore job stopped running?")


def run_freshness(root: Path, *, max_age: str, alerts: Path | None, now: datetime | None = None,
                  env: Mapping[str, str] | None = None, shown_as: str | None = None) -> int:
    """The command: print the verdict; with `alerts`, trigger the overdue alert when stale, resolve it when
    fresh (PagerDuty and Opsgenie; Slack and webhooks are told of problems only). `shown_as`: see
    check_freshness."""
    limit = parse_max_age(max_age)
    config = None
    if alerts is not None:
        from verifiers.alerts.config import load_alert_config  # pydantic: only when alerting

        config = load_alert_config(alerts)  # a bad configuration fails before anything is judged
    freshness = check_freshness(root, limit, now=now, shown_as=shown_as)
    print(f"{'STALE' if freshness.stale else 'fresh'}: {freshness.describe()}")
    delivered = True if config is None else _alert(freshness, config, os.environ if env is None else env)
    return EXIT_OK if delivered and not freshness.stale else EXIT_FAILED


def _alert(freshness: Freshness, config: AlertConfig, env: Mapping[str, str]) -> bool:
    from verifiers.alerts.notify import plan_requests, retry_policy, send
    from verifiers.alerts.payload import overdue_alert

    alert = overdue_alert(ALERT_NAME, checked=freshness.checked,
                          problem=overdue_problem(freshness) if freshness.stale else None,
                          newest_run=freshness.newest.run if freshness.newest else None,
                          facts=freshness.facts(), report_url=None)
    report = send(plan_requests([alert], config, env), retry_policy(config))
    for result in report.results:
        print(result.describe())
    for problem in report.problems:
        print(f"FAILED: {problem}")
    sent = len(report.results) - len(report.failed)
    print(f"alerts: {sent} sent, {len(report.failed)} failed ({'overdue' if freshness.stale else 'resolved'})")
    return report.ok
