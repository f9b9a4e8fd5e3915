"""Checks about a run as a whole rather than one store (inventory coverage, the alert-response KPI, a DR drill's
verdict): each a `RunCheck` with the shape of a store's check (observed against expected), recorded in
evidence.json's `run_checks`, shown in the report's and the terminal's summary, and failing the run when one fails.

`passed` None is a check that compared nothing; its `detail` says why. It is never counted as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RUN_STATUSES = ("passed", "failed", "not compared")
COVERAGE_CHECK = "coverage"  # verifiers/discovery/run.py records it; the archive index reads it
DRILL_CHECK = "drill"  # verifiers/drill.py DrillRecord.as_run_check: a DR drill's verdict about its service
ALERT_RESPONSE_CHECK = "alert_response"  # verifiers/alerts/response_run.py records it; the archive index reads it


@dataclass(frozen=True)
class RunCheck:
    check: str  # what is checked: "coverage", "alert_response", "drill"
    subject: str  # what about: a resource id, a service in a region, "inventory"
    passed: bool | None  # None: not compared (detail says why)
    observed: Any  # data (counts, names), never a display string of it, never row contents or secrets
    expected: Any
    detail: str  # one line for people: what was found and what to do

    @property
    def status(self) -> str:
        return "not compared" if self.passed is None else "passed" if self.passed else "failed"

    def as_evidence(self) -> dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "passed": self.passed, "observed": self.observed,
                "expected": self.expected, "detail": self.detail}


def failed(checks: Sequence[RunCheck]) -> list[RunCheck]:
    return [c for c in checks if c.passed is False]


def run_checks_evidence(checks: Sequence[RunCheck]) -> list[dict[str, Any]]:
    return [c.as_evidence() for c in checks]
