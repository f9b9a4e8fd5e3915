"""One store's result as every channel tells it: a `trigger` for a failed or errored store, a `resolve` for a
passed one; the headline, the problems (failed checks with their messages, never row contents), RTO and RPO
against their targets, the run and the link to the report.

Two pseudo-stores use the same shape: a CI job that wrote no evidence (stand_in_alert), and restore tests that
stopped happening, told by `restoreproof evidence freshness` (overdue_alert)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from verifiers.run_record import CheckRecord, LoadedRun, Measured, RunHeader, StoreError, StoreRecord

Action = Literal["trigger", "resolve"]
# a store's result, no restore test for longer than allowed, or a store's restore slower than it used to be
About = Literal["store", "overdue", "slower"]
MAX_PROBLEMS = 20  # listed in a message; the rest is counted (the report has them all)


@dataclass(frozen=True)
class StoreAlert:
    run: RunHeader
    store: StoreRecord
    record: dict[str, Any]  # the store's evidence record as written (the generic webhook sends it verbatim)
    run_record: dict[str, Any]  # the run's, likewise
    report_url: str | None = None
    about: About = "store"

    @property
    def action(self) -> Action:
        return "resolve" if self.store.status == "passed" else "trigger"

    @property
    def dedup_key(self) -> str:
        """One incident per store and month: re-runs in the same month update it instead of paging again."""
        return dedup_key(self.store.name, self.run.month)

    @property
    def resolve_keys(self) -> tuple[str, ...]:
        """The keys a pass resolves: this month's, and last month's (a failure at the end of a month is usually
        fixed and re-run in the next)."""
        return self.dedup_key, dedup_key(self.store.name, previous_month(self.run.month))

    @property
    def report_link(self) -> str | None:
        """The report URL, with {run_id}, {month} and {store} filled in (e.g. a per-run page of the archive)."""
        if not self.report_url:
            return None
        return (self.report_url.replace("{run_id}", self.run.id).replace("{month}", self.run.month)
                .replace("{store}", self.store.name))

    @property
    def verdict(self) -> str:
        if self.store.status == "passed":
            return "passed"
        if self.about == "overdue":
            return "overdue"
        if self.about == "slower":
            return "slower than usual"
        if self.store.status == "error":
            phase = self.store.error.phase if self.store.error else "the run"
            return f"errored during {phase}"
        failed, total = len(self.store.failed_checks), len(self.store.checks)
        return f"failed ({failed} of {total} check{'s' if total != 1 else ''} failed)"

    @property
    def headline(self) -> str:
        """`saas: restore verification failed (2 of 31 checks failed)`"""
        return f"{self.store.name}: restore verification {self.verdict}"

    @property
    def first_problem(self) -> str | None:
        """The harness's error, else the first failed check: what a one-line summary names."""
        if self.store.error:
            return self.store.error.message
        failed = self.store.problems()
        return failed[0] if failed else None

    def problems(self, limit: int = MAX_PROBLEMS) -> list[str]:
        lines = self.store.problems()
        if len(lines) > limit:
            lines = [*lines[:limit], f"… and {len(lines) - limit} more (see the report)"]
        return lines

    @property
    def rto_shown(self) -> str:
        """`4.13s (target 15m00s)`; `… — over target` when it is."""
        return _described(self.store.rto)

    @property
    def rpo_shown(self) -> str:
        return _described(self.store.rpo)

    @property
    def rto_text(self) -> str:
        return f"RTO {self.rto_shown}"

    @property
    def rpo_text(self) -> str:
        return f"RPO {self.rpo_shown}"

    def details(self) -> dict[str, str]:
        """Flat facts for an incident's detail pane (every value a string)."""
        facts = {"store": self.store.name, "kind": self.store.kind, "suite": self.store.suite,
                 "status": self.store.status, "rto": self.rto_shown, "rpo": self.rpo_shown,
                 "run_id": self.run.id, "month": self.run.month}
        if self.report_link:
            facts["report"] = self.report_link
        return facts

    def text(self, limit: int = MAX_PROBLEMS) -> str:
        """The whole story as plain text: headline, problems, RTO, RPO, run, report."""
        lines = [self.headline, *(f"- {p}" for p in self.problems(limit)), self.rto_text, self.rpo_text,
                 f"run {self.run.id}"]
        if self.report_link:
            lines.append(f"report: {self.report_link}")
        return "\n".join(lines)


def _described(measured: Measured | None) -> str:
    return "not measured" if measured is None else measured.describe()


def dedup_key(store: str, month: str) -> str:
    return f"restoreproof/{store}/{month}"


def previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def store_alerts(loaded: LoadedRun, report_url: str | None) -> list[StoreAlert]:
    """An alert per store of the run, then one per kind of run-level check (run_check_alerts)."""
    run = loaded.record.run
    return [*(StoreAlert(run, store, loaded.raw_store(i), loaded.raw["run"], report_url)
              for i, store in enumerate(loaded.record.stores)), *run_check_alerts(loaded, report_url)]


RUN_CHECK_PREFIX = "run:"  # `run:coverage`: no store is named so (store names hold no `:`)


def run_check_alerts(loaded: LoadedRun, report_url: str | None) -> list[StoreAlert]:
    """A pseudo-store per kind of run-level check (evidence.json's run_checks; `run:coverage` for inventory
    coverage): failed when one of them failed, with each failure's detail as a problem ("store not in inventory:
    …"), else passed, which resolves it. A check that compared nothing is left out."""
    by_check: dict[str, list[CheckRecord]] = {}
    for check in loaded.record.run_checks:
        if check.passed is not None:
            by_check.setdefault(check.check, []).append(
                CheckRecord(check=check.check, subject=check.subject, passed=check.passed, message=check.detail))
    alerts = []
    for name, checks in by_check.items():
        store = StoreRecord(name=RUN_CHECK_PREFIX + name, checks=checks,
                            status="passed" if all(c.passed for c in checks) else "failed")
        record: dict[str, Any] = {"name": store.name, "status": store.status,
                                  "run_checks": [c.model_dump() for c in loaded.record.run_checks if c.check == name]}
        alerts.append(StoreAlert(loaded.record.run, store, record, loaded.raw["run"], report_url))
    return alerts


def stand_in_alert(name: str, *, month: str, problem: str | None, report_url: str | None) -> StoreAlert:
    """A pseudo-store for a CI job that wrote no evidence (it died before): errored with `problem`, so the
    alerting path still fires; or passed (`problem` None) when a later run did write evidence, which resolves
    that alert under the same name."""
    run = RunHeader(id="(no evidence)", started=datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC),
                    status="error" if problem else "passed")
    error = StoreError(phase="run", message=problem) if problem else None
    store = StoreRecord(name=name, status="error" if problem else "passed", error=error)
    record: dict[str, Any] = {"name": name, "status": store.status,
                              "error": error.model_dump() if error else None}
    return StoreAlert(run, store, record, {"id": run.id, "status": run.status}, report_url)


def overdue_alert(name: str, *, checked: datetime, problem: str | None, newest_run: str | None,
                  facts: dict[str, Any], report_url: str | None) -> StoreAlert:
    """A pseudo-store for restore tests that stopped (`restoreproof evidence freshness`): `<name>: restore
    verification overdue` with `problem` (how old the newest restore is, against the allowed age); or passed
    (`problem` None) when a recent restore exists, which resolves the alert under the same name. `facts` (the
    newest restore and the threshold, as data) is the record a webhook receives."""
    run = RunHeader(id=newest_run or "(no restore on record)", started=checked, status="error" if problem else "passed")
    error = StoreError(phase="schedule", message=problem) if problem else None
    store = StoreRecord(name=name, status="error" if problem else "passed", error=error)
    record: dict[str, Any] = {"name": name, "status": store.status, "error": error.model_dump() if error else None,
                              "freshness": facts}
    return StoreAlert(run, store, record, {"id": run.id, "status": run.status}, report_url, about="overdue")


def slower_alert(name: str, *, run: str, started: datetime, problem: str | None,
                 facts: dict[str, Any]) -> StoreAlert:
    """A pseudo-store for a store whose restore got slower (`restoreproof evidence trend`): `<name>: restore
    verification slower than usual` with `problem` (the phases against their medians); or passed (`problem`
    None), which resolves the alert under the same name. `facts` (each phase, its median, the verdict) is the
    record a webhook receives."""
    header = RunHeader(id=run, started=started, status="error" if problem else "passed")
    error = StoreError(phase="rto", message=problem) if problem else None
    store = StoreRecord(name=name, status="error" if problem else "passed", error=error)
    record: dict[str, Any] = {"name": name, "status": store.status, "error": error.model_dump() if error else None,
                              "trend": facts}
    return StoreAlert(header, store, record, {"id": header.id, "status": header.status}, None, about="slower")
