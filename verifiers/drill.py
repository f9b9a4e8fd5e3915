"""A disaster-recovery drill (`restoreproof drill --service NAME`, docs/drills.md): every store of one service
restored together, as a real recovery would, and the service-level RTO it took, judged against the service's.

The service RTO is the wall time from the drill's start until every store of the service was verified (each
store's result known, on the drill's own monotonic clock). It is judged only when every store passed: a store
that failed or errored was not recovered, so the service was not, and its RTO is "not compared", never met.

This module is the plan, the judgement and the record (plain data); verifiers/plugin/drill.py times a run with it and
verifiers/evidence/drill_report.py writes the drill report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from verifiers.durations import format_duration
from verifiers.errors import RestoreproofError
from verifiers.run_checks import DRILL_CHECK, RunCheck
from verifiers.services import Service

RtoStatus = Literal["met", "missed", "not compared"]
Mode = Literal["parallel", "sequential"]


class DrillInputError(RestoreproofError):
    """A drill's participants or findings cannot be used as given (empty, a control character, a file that
    cannot be read)."""


@dataclass(frozen=True)
class DrillPlan:
    """What the drill is: the service, who took part and what they found (text typed by people: recorded as
    given, escaped wherever it is shown), and when it started (wall clock for the record, monotonic for timing)."""

    service: Service
    participants: tuple[str, ...]
    findings: tuple[str, ...]
    started: datetime
    started_monotonic: float


@dataclass(frozen=True)
class ServiceRto:
    """The service RTO against its target: measured (seconds) only when every store was verified."""

    status: RtoStatus
    seconds: float | None
    target_seconds: float
    message: str


def people_text(values: Sequence[str], *, what: str) -> tuple[str, ...]:
    """Participants or findings as given, trimmed; DrillInputError for an empty one or one with a control
    character (a newline would let one entry pass for two in the report)."""
    cleaned = []
    for value in values:
        text = value.strip()
        if not text:
            raise DrillInputError(f"an empty {what}", hint=f"give each {what} some text, or leave the option out")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise DrillInputError(f"{what} {text[:40]!r} has a control character (a newline, a tab, an escape)",
                                  hint=f"give one {what} per option, on one line")
        cleaned.append(text)
    return tuple(cleaned)


def findings_from_text(text: str) -> list[str]:
    """A findings file's findings: one per non-empty line, a leading Markdown bullet (`- `, `* `) dropped."""
    found = []
    for line in text.splitlines():
        item = line.strip()
        if item[:2] in ("- ", "* "):
            item = item[2:].strip()
        if item:
            found.append(item)
    return found


def judge_service_rto(plan: DrillPlan, statuses: Mapping[str, str], ready: Mapping[str, float]) -> ServiceRto:
    """`statuses`: each store's result (passed, failed, error); `ready`: seconds from the drill's start until each
    store's result was known. A store without a result, or not passed, leaves the RTO not compared."""
    target = plan.service.rto
    stores = plan.service.stores
    unrecovered = [f"{s} {statuses.get(s, 'has no result')}" for s in stores if statuses.get(s) != "passed"]
    if unrecovered:
        return ServiceRto("not compared", None, target,
                          f"not compared: the service was not recovered ({', '.join(unrecovered)}), so no service "
                          f"RTO was measured (target {format_duration(target)})")
    untimed = [s for s in stores if s not in ready]
    if untimed:
        return ServiceRto("not compared", None, target,
                          f"not compared: no time was recorded for {', '.join(untimed)} (target "
                          f"{format_duration(target)})")
    seconds = max(ready[s] for s in stores)
    verdict: RtoStatus = "met" if seconds <= target else "missed"
    words = "within" if verdict == "met" else "over"
    return ServiceRto(verdict, seconds, target, f"every store verified {format_duration(seconds)} after the drill "
                      f"started: {words} the service's target {format_duration(target)}")


@dataclass(frozen=True)
class DrillRecord:
    """A drill once run: what evidence.json holds as `run.drill` (as_evidence) and the run-level check that makes
    its verdict the run's (as_run_check): a failed drill fails the run, as a failed store does."""

    service: Service
    participants: tuple[str, ...]
    findings: tuple[str, ...]
    started: datetime
    finished: datetime
    mode: Mode
    workers: int
    store_ready_seconds: Mapping[str, float]  # the service's stores with a result, in the service's order
    statuses: Mapping[str, str]  # each store's result (passed, failed, error, ...), as judged
    rto: ServiceRto

    @property
    def passed(self) -> bool:
        """Every store passed and the service RTO was met."""
        return self.rto.status == "met"

    @property
    def stores_passed(self) -> int:
        return sum(self.statuses.get(s) == "passed" for s in self.service.stores)

    def as_evidence(self) -> dict[str, Any]:
        """evidence.json's `run.drill` (its schema: verifiers/evidence/schema/evidence.schema.json)."""
        service = self.service
        return {
            "service": service.name,
            "owner": service.owner,
            "description": service.description,
            "stores": list(service.stores),
            "participants": list(self.participants),
            "findings": list(self.findings),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "mode": self.mode,
            "workers": self.workers,
            "store_ready_seconds": {s: round(v, 3) for s, v in self.store_ready_seconds.items()},
            "service_rto_seconds": None if self.rto.seconds is None else round(self.rto.seconds, 3),
            "rto_target_seconds": self.rto.target_seconds,
            "rto": {"status": self.rto.status, "message": self.rto.message},
            "passed": self.passed,
        }

    def as_run_check(self) -> RunCheck:
        """The drill's verdict as a run-level check `drill` about the service: passed when the RTO was met, failed
        when missed, not compared (None) when a store was not recovered or not timed."""
        verdict = {"met": True, "missed": False, "not compared": None}[self.rto.status]
        # counts only (the evidence schema's `value`): the stores not recovered are named in the detail
        observed = {"service_rto_seconds": None if self.rto.seconds is None else round(self.rto.seconds, 3),
                    "stores_passed": self.stores_passed, "stores": len(self.service.stores)}
        return RunCheck(DRILL_CHECK, self.service.name, verdict, observed,
                        {"rto_target_seconds": self.rto.target_seconds},
                        f"DR drill of service {self.service.name}: {self.rto.message}")


def drill_record(plan: DrillPlan, statuses: Mapping[str, str], ready: Mapping[str, float], *,
                 elapsed_seconds: float, mode: Mode, workers: int) -> DrillRecord:
    """The drill's record once its stores have results: the service RTO judged (judge_service_rto)."""
    stores = plan.service.stores
    return DrillRecord(service=plan.service, participants=plan.participants, findings=plan.findings,
                       started=plan.started, finished=plan.started + timedelta(seconds=elapsed_seconds), mode=mode,
                       workers=workers, store_ready_seconds={s: ready[s] for s in stores if s in ready},
                       statuses={s: statuses[s] for s in stores if s in statuses},
                       rto=judge_service_rto(plan, statuses, ready))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
