"""The pytest side of a drill (`restoreproof drill`, verifiers/drill_command.py hands it to pytest.main): in the
controlling process, time each store of the service until its result is known, say whether the stores ran in
parallel (pytest-xdist workers) or one after another, and before the run is sealed put the drill's record in the
run's state (evidence.json's `run.drill`) and write drill.html into the run directory, so SHA256SUMS covers it.

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
from verifiers.drill import DrillPlan, Mode, drill_record
from verifiers.evidence.drill_report import DRILL_REPORT, render_drill_report
from verifiers.plugin.session import RUN_KEY, RestoreRun, store_of

PLUGIN_NAME = "restoreproof-drill"


class DrillRecorder:
    """A pytest plugin object for one drill; after the session, `record` is what the evidence holds."""

    def __init__(self, plan: DrillPlan) -> None:
        self.plan = plan
        self.ready: dict[str, float] = {}  # store -> seconds from the drill's start until its result was known
        self.mode: Mode = "sequential"
        self.workers = 1
        self.record: dict[str, Any] | None = None
        self.report: Path | None = None  # drill.html, once written

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

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Inside the restoreproof plugin's wrapper, so before it seals the run; after pytest-xdist's merge of the
        workers' outcomes (tryfirst), so every store's result is in."""
        state = session.config.stash.get(RUN_KEY, None)
        if state is None:
            return
        elapsed = time.monotonic() - self.plan.started_monotonic
        statuses = {name: outcome.status for name, outcome in state.outcomes.items()}
        self.record = drill_record(self.plan, statuses, self.ready, elapsed_seconds=elapsed, mode=self.mode,
                                   workers=self.workers)
        state.drill = self.record
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
        how = (f"in parallel ({record['workers']} pytest-xdist workers)" if record["mode"] == "parallel"
               else "one after another (one session)")
        terminalreporter.section("drill")
        terminalreporter.write_line(f"service {record['service']}: {len(record['stores'])} stores restored {how}")
        terminalreporter.write_line(f"service RTO: {record['rto']['message']}",
                                    **({"green": True} if record["passed"] else {"red": True}))
        if self.report is not None:
            terminalreporter.write_line(f"drill report: {self.report}")


def _write_report(state: RestoreRun, record: dict[str, Any]) -> Path:
    """drill.html in the run directory, final before the run is sealed."""
    state.run.directory.mkdir(parents=True, exist_ok=True)
    path = state.run.directory / DRILL_REPORT
    write_text_atomically(path, render_drill_report(run_id=state.run.id, drill=record,
                                                    stores=[o.as_evidence() for o in state.outcomes.values()],
                                                    provenance=state.provenance))
    return path
