"""The pytest side of a drill (`restoreproof drill`, verifiers/drill_command.py hands it to pytest.main): in the
controlling process, time each store of the service until its result is known, say whether the stores ran in
parallel (pytest-xdist workers) or one after another, and before any report is written put the drill's record in
the run's state (evidence.json's `run.drill`), its verdict among the run checks (`drill`: a failed drill fails the
run's status and exit code, and report.html, the terminal, the job summary and notify say so, as for any run
check), and write drill.html into the run directory, so SHA256SUMS covers it.

A store's result is known when the first report of its checks reaches this process: its restore runs in the setup
of its first check (verifiers/plugin/session.py RestoreRun.outcome), on this process or on an xdist worker,
whose reports xdist relays here as they happen.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from verifiers.atomic import write_text_atomically
from verifiers.drill import DrillPlan, DrillRecord, Mode, drill_record
from verifiers.evidence.drill_report import DRILL_REPORT, render_drill_report
from verifiers.plugin.session import RUN_KEY, RestoreRun, store_of
from verifiers.run_checks import DRILL_CHECK, RunCheck, failed

PLUGIN_NAME = "restoreproof-drill"


class DrillRecorder:
    """A pytest plugin object for one drill; after the session, `record` is what the evidence holds."""

    def __init__(self, plan: DrillPlan) -> None:
        self.plan = plan
        self.ready: dict[str, float] = {}  # store -> seconds from the drill's start until its result was known
        self.mode: Mode = "sequential"
        self.workers = 1
        self.record: DrillRecord | None = None
        self.report: Path | None = None  # drill.html, once written
        self.others_failed: list[RunCheck] = []  # the run's other failed run checks (an uncovered store)

    @pytest.hookimpl(trylast=True)  # after the restoreproof plugin made the run's state
    def pytest_configure(self, config: pytest.Config) -> None:
        # pytest-xdist (the `parallel` extra) turns -n N into N `tx` specs and a distribution mode
        tx = config.getoption("tx", None) or []
        distributed = config.getoption("dist", "no") != "no" and len(tx) > 0
        self.mode = "parallel" if distributed and len(tx) > 1 else "sequential"
        self.workers = len(tx) if distributed else 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        store = store_of(report.nodeid)
        if store in self.plan.service.stores and store not in self.ready:
            self.ready[store] = time.monotonic() - self.plan.started_monotonic

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Inside the restoreproof plugin's wrapper, so before it seals the run; before pytest-html and junitxml
        write their reports (report.html shows the drill's run check); after the xdist relay's sessionfinish
        (tryfirst too, registered later so called first), so a store whose worker died has its error."""
        state = session.config.stash.get(RUN_KEY, None)
        if state is None:
            return
        elapsed = time.monotonic() - self.plan.started_monotonic
        statuses = {name: outcome.status for name, outcome in state.outcomes.items()}
        self.record = drill_record(self.plan, statuses, self.ready, elapsed_seconds=elapsed, mode=self.mode,
                                   workers=self.workers)
        state.drill = self.record
        check = self.record.as_run_check()
        self.others_failed = failed(state.run_checks)  # made before (inventory coverage), not the drill's
        state.run_checks.append(check)
        if check.passed is not True and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a drill not passed is a failed run's exit code
        try:
            self.report = _write_report(state, self.record)
        except OSError as exc:  # the evidence is still written and sealed, with the drill's record in it
            sys.stderr.write(f"restoreproof: error: the drill report of run {state.run.id} was not written: "
                             f"{exc.strerror or exc}: {exc.filename} — the run's evidence.json holds the drill\n")
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.record is None:
            return
        record = self.record
        how = (f"in parallel ({record.workers} pytest-xdist workers)" if record.mode == "parallel"
               else "one after another (one session)")
        terminalreporter.section("drill")
        terminalreporter.write_line(f"service {record.service.name}: {len(record.service.stores)} stores restored "
                                    f"{how}")
        terminalreporter.write_line(f"service RTO: {record.rto.message}",
                                    **({"green": True} if record.passed else {"red": True}))
        if record.passed and self.others_failed:
            terminalreporter.write_line(f"the drill passed, but the run failed: {len(self.others_failed)} other run "
                                        "check(s) failed (above)", red=True)
        if self.report is not None:
            terminalreporter.write_line(f"drill report: {self.report}")


def _write_report(state: RestoreRun, record: DrillRecord) -> Path:
    """drill.html in the run directory, final before the run is sealed."""
    state.run.directory.mkdir(parents=True, exist_ok=True)
    path = state.run.directory / DRILL_REPORT
    write_text_atomically(path, render_drill_report(run_id=state.run.id, drill=record.as_evidence(),
                                                    stores=[o.as_evidence() for o in state.outcomes.values()],
                                                    provenance=state.provenance,
                                                    other_failed_checks=[c.as_evidence() for c in failed(
                                                        state.run_checks) if c.check != DRILL_CHECK]))
    return path
