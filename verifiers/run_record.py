"""A run's evidence.json read back for people and machines (`restoreproof summary`, `restoreproof notify`):
the run, and per store its status, RTO and RPO against their targets, and what failed.

Only the fields these readers use are validated; others are ignored, so the evidence schema can grow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from verifiers.durations import format_duration
from verifiers.errors import EvidenceError

EVIDENCE_FILE = "evidence.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CheckRecord(_Record):
    check: str
    subject: str
    passed: bool
    message: str = ""

    @property
    def label(self) -> str:
        """`row_count public.users`; a check about the store as a whole (`rto`, `restore`) is named once."""
        return self.check if self.subject in ("", self.check) else f"{self.check} {self.subject}"


class Measured(_Record):
    """A measured time against its target: RTO (restore time) or RPO (backup age)."""

    seconds: float | None = None
    target_seconds: float = Field(gt=0)

    def describe(self) -> str:
        target = format_duration(self.target_seconds)
        if self.seconds is None:
            return f"not measured (target {target})"
        over = " — over target" if self.seconds > self.target_seconds else ""
        return f"{format_duration(self.seconds)} (target {target}){over}"


class StoreError(_Record):
    phase: str
    message: str


class StoreRecord(_Record):
    name: str = Field(min_length=1)
    kind: str = ""
    suite: str = ""
    status: Literal["passed", "failed", "error"]
    rto: Measured | None = None  # always in evidence.json; absent only in a stand-in for a run with none
    rpo: Measured | None = None
    checks: list[CheckRecord] = Field(default_factory=list)
    error: StoreError | None = None

    @property
    def failed_checks(self) -> list[CheckRecord]:
        return [c for c in self.checks if not c.passed]

    def problems(self) -> list[str]:
        """What went wrong, one line each: the error first (when the harness could not finish), then every
        failed check with its message. Messages hold counts, digests and names, never row contents."""
        lines = [f"error during {self.error.phase}: {self.error.message}"] if self.error else []
        return lines + [f"{c.label}: {c.message}" if c.message else c.label for c in self.failed_checks]


class RunHeader(_Record):
    id: str = Field(min_length=1)
    started: datetime
    finished: datetime | None = None
    status: str = ""
    host: str | None = None
    tool_version: str | None = None

    @property
    def month(self) -> str:
        """The run's month (UTC), YYYY-MM: the month its evidence is filed under."""
        started = self.started if self.started.tzinfo else self.started.replace(tzinfo=UTC)
        return f"{started.astimezone(UTC):%Y-%m}"


class RunCheckRecord(_Record):
    """A check about the run as a whole (evidence.json's run_checks: inventory coverage, ...)."""

    check: str
    subject: str
    passed: bool | None = None  # None: not compared
    detail: str = ""


class RunRecord(_Record):
    run: RunHeader
    stores: list[StoreRecord]
    run_checks: list[RunCheckRecord] = Field(default_factory=list)  # absent in runs without any

    @property
    def failed_run_checks(self) -> list[RunCheckRecord]:
        return [c for c in self.run_checks if c.passed is False]


@dataclass(frozen=True)
class LoadedRun:
    """evidence.json as read: validated for what readers use, and the raw mapping (for verbatim copies)."""

    path: Path
    record: RunRecord
    raw: dict[str, Any]

    def raw_store(self, index: int) -> dict[str, Any]:
        stores: list[dict[str, Any]] = self.raw["stores"]
        return stores[index]


def find_evidence(path: Path) -> Path:
    """evidence.json given itself, its run directory, or a reports root (then the newest run in it)."""
    if path.is_file():
        return path
    if (path / EVIDENCE_FILE).is_file():
        return path / EVIDENCE_FILE
    if path.is_dir():
        from verifiers.evidence.chain import run_dirs

        runs = [run / EVIDENCE_FILE for run in run_dirs(path) if (run / EVIDENCE_FILE).is_file()]
        if runs:
            return runs[-1]
        raise EvidenceError(f"{path}: no {EVIDENCE_FILE} in it nor in a run under it (YYYY-MM/<run-id>/)",
                            hint="pass a run directory, its evidence.json, or the reports root (--reports-dir)")
    raise EvidenceError(f"{path}: no such file or directory",
                        hint="pass a run directory, its evidence.json, or the reports root (--reports-dir)")


def load_run(path: Path) -> LoadedRun:
    """Read and validate a run's evidence (see find_evidence for what `path` may be); EvidenceError if not."""
    evidence = find_evidence(path)
    try:
        raw = json.loads(evidence.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{evidence}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"{evidence}: not JSON: {exc}", hint="is the run complete? it may have been cut short"
                            ) from None
    try:
        record = RunRecord.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise EvidenceError(f"{evidence}: not a restoreproof evidence record: {where}: {first['msg']}",
                            hint="pass the evidence.json a restore run wrote") from None
    return LoadedRun(path=evidence, record=record, raw=raw)
