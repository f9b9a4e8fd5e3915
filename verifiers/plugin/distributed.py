"""Restore runs under pytest-xdist (`pytest -n auto suites/...`): stores spread over workers, evidence written once.

Each store is one scheduling unit: all its check items go to the same worker, which restores the store once in
its own sandbox. A worker writes no report; when it finishes it sends its stores' outcomes to the controlling
process (xdist's `workeroutput`), which merges them in collection order, so the evidence of a run with `-n N`
lists the same stores, in the same order, as the run without it. A store whose worker crashed before it could
report is recorded as an `error`, never silently dropped.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from verifiers.evidence import RunInfo
from verifiers.plugin.progress_relay import ProgressRelay, ProgressWriter, event_file
from verifiers.plugin.session import CHECK_KEY, RestoreRun, store_of
from verifiers.runner import StoreOutcome
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)

RUN_INPUT = "restoreproof_run"  # controller -> worker: the run's id, start and directory
OUTCOMES_OUTPUT = "restoreproof_outcomes"  # worker -> controller: (key, position, pickled StoreOutcome)
PROGRESS_INPUT = "restoreproof_progress"  # controller -> worker: the directory for its progress events


def worker_run(config: pytest.Config) -> RunInfo | None:
    """The controller's RunInfo as sent to this worker, if this process is an xdist worker of a restore run."""
    raw = getattr(config, "workerinput", {}).get(RUN_INPUT)
    if raw is None:
        return None
    return RunInfo(id=raw["id"], started=datetime.fromisoformat(raw["started"]), directory=Path(raw["directory"]))


def worker_progress(config: pytest.Config) -> ProgressWriter | None:
    """Where this worker's progress goes: a file the controller relays to its terminal (None: shown nowhere)."""
    workerinput = getattr(config, "workerinput", {})
    directory = workerinput.get(PROGRESS_INPUT)
    if directory is None:
        return None
    return ProgressWriter(event_file(Path(directory), str(workerinput.get("workerid", "gw"))))


class WorkerOutcomes:
    """Worker side: hand this worker's outcomes to the controller when its session ends."""

    def __init__(self, state: RestoreRun) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if isinstance(self.state.progress, ProgressWriter):
            self.state.progress.close()
        # Each outcome goes with the position of the first item that judged it: every worker collects the same
        # items, so the controller can order the merged outcomes as a run without xdist would have.
        first: dict[int, int] = {}
        for position, item in enumerate(session.items):
            check = item.stash.get(CHECK_KEY, None)
            if check is not None:
                first.setdefault(id(check.outcome), position)
        # Pickle (not JSON): the controller needs the StoreOutcome objects themselves for the HTML summary and
        # the evidence; both ends are this same installation, and execnet carries only plain values and bytes.
        session.config.workeroutput[OUTCOMES_OUTPUT] = [  # type: ignore[attr-defined]
            (key, first.get(id(outcome), len(session.items)), _pickled(outcome))
            for key, outcome in self.state.outcomes.items()
        ]


def _pickled(outcome: StoreOutcome) -> bytes:
    """The outcome as bytes; one that will not pickle (a store put something odd in it) becomes an error of
    that store rather than a lost worker and a run without its evidence."""
    try:
        return pickle.dumps(outcome)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.error("store %s: its outcome cannot be sent to the controlling process: %s", outcome.store.name, exc)
        return pickle.dumps(StoreOutcome(
            store=outcome.store, status="error", checks=[], timer=outcome.timer, suite=outcome.suite,
            error={"phase": "verify", "message": f"the outcome could not leave its pytest-xdist worker ({exc}); "
                   f"run the store with -n 0"}))


class ControllerMerge:
    """Controller side: choose the store scheduler, pass the run to workers, merge what they send back."""

    def __init__(self, state: RestoreRun) -> None:
        self.state = state
        self.order: dict[str, int] = {}  # store -> position of its first item
        self.positions: dict[str, int] = {}  # outcome key -> position of the first item that judged it
        self.crashed: list[str] = []
        self.relay: ProgressRelay | None = None  # workers' progress, shown on this terminal

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        # Only the default distribution (`-n N` alone): an explicit --dist choice is the user's to make. Imported
        # here: this hook runs only under pytest-xdist, which the core does not require (the `parallel` extra).
        from verifiers.plugin.scheduling import StoreScheduling

        return StoreScheduling(config, log) if config.getvalue("dist") == "load" else None

    def pytest_configure_node(self, node: Any) -> None:
        run = self.state.run
        node.workerinput[RUN_INPUT] = {"id": run.id, "started": run.started.isoformat(),
                                       "directory": str(run.directory)}
        if self.state.settings.progress != "off" and node.config.get_verbosity() >= 0:
            if self.relay is None:
                self.relay = ProgressRelay(lambda: self.state.progress)
            node.workerinput[PROGRESS_INPUT] = str(self.relay.directory)

    # pytest writes a test's start and result in pieces: the relay's progress waits until each piece is whole.
    def _writing(self) -> contextlib.AbstractContextManager[Any]:
        return self.relay.terminal if self.relay is not None else contextlib.nullcontext()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> Generator[None, None, None]:
        with self._writing():
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        with self._writing():
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> Generator[None, None, None]:
        with self._writing():
            return (yield)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        for position, nodeid in enumerate(ids):
            store = store_of(nodeid)
            if store is not None:
                self.order.setdefault(store, position)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        for key, position, payload in output.get(OUTCOMES_OUTPUT, ()):
            self.state.outcomes[key] = pickle.loads(payload)  # noqa: S301 - our own worker's bytes
            self.positions[key] = position
        if error is not None:
            self.crashed.append(f"{node.gateway.id}: {error}")
        self._sort()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before any report is written: the workers' last progress is shown, and a store whose worker died
        without reporting becomes an error."""
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        if not self.crashed:
            return
        inventory = self.state.load()
        known = {s.name: s for s in inventory.stores}
        for name, position in self.order.items():
            if name in self.state.outcomes or name not in known:
                continue
            message = (f"no result: its pytest-xdist worker crashed ({'; '.join(self.crashed)}); run the store "
                       "again, alone with `--store " + name + " -n 0`, to see why")
            self.positions[name] = position
            self.state.outcomes[name] = StoreOutcome(store=known[name], status="error", checks=[],
                                                     timer=RestoreTimer(),
                                                     error={"phase": "verify", "message": message})
        self._sort()

    def _sort(self) -> None:
        ranked = sorted(self.state.outcomes.items(), key=lambda kv: self.positions.get(kv[0], 1 << 62))
        self.state.outcomes.clear()
        self.state.outcomes.update(ranked)
