"""How far a store's long steps have got — bytes fetched, restore items done, tables checksummed — reported by
the code doing the work to whoever shows it (verifiers/plugin/progress_display.py draws it in pytest's terminal).

The seam is deliberately small: the runner binds a reporter to the store it runs (`reporting`), the phase
clock says which phase is running (`phase_started`/`phase_ended`, called by RestoreTimer.phase), and a
source or store asks for a `task` and advances it. Outside a `reporting` block (capture, the harness's own
tests) a task does nothing, so the code that reports never needs to know whether anyone is listening.
A task is thread-safe and may be handed to worker threads (contextvars do not follow threads).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol

Unit = Literal["bytes", "items", "tables"]


class ProgressReporter(Protocol):
    """Receives the events of every store; implementations are called from worker threads too."""

    def phase_started(self, store: str, phase: str) -> None: ...

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: Unit) -> None: ...

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None: ...

    def store_finished(self, store: str, status: str) -> None: ...


class NullProgress:
    """Reports nowhere: the default when nobody shows progress (quiet runs, library use)."""

    def phase_started(self, store: str, phase: str) -> None:
        pass

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: Unit) -> None:
        pass

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None:
        pass

    def store_finished(self, store: str, status: str) -> None:
        pass


@dataclass
class _Binding:
    reporter: ProgressReporter
    store: str
    phase: str | None = None


_CURRENT: ContextVar[_Binding | None] = ContextVar("restoreproof_progress", default=None)


@contextmanager
def reporting(reporter: ProgressReporter, store: str) -> Iterator[None]:
    """Within this block, phases and tasks (in this thread) are reported to `reporter` for `store`."""
    token = _CURRENT.set(_Binding(reporter, store))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def phase_started(phase: str) -> None:
    binding = _CURRENT.get()
    if binding is not None:
        binding.phase = phase
        binding.reporter.phase_started(binding.store, phase)


def phase_ended(phase: str, *, failed: bool) -> None:
    binding = _CURRENT.get()
    if binding is not None:
        binding.phase = None
        binding.reporter.phase_ended(binding.store, phase, failed=failed)


class Task:
    """A count towards a total (None when unknown) in the phase running when the task was made."""

    def __init__(self, binding: _Binding | None, unit: Unit, total: float | None) -> None:
        self._binding = binding if binding is not None and binding.phase is not None else None
        self._phase = self._binding.phase if self._binding else None
        self.unit: Unit = unit
        self.total = total
        self.done = 0.0
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether anyone listens: skip work done only to report (e.g. counting an archive's entries)."""
        return self._binding is not None

    def advance(self, amount: float = 1) -> None:
        with self._lock:
            self.done += amount
            self._send()

    def update(self, done: float, total: float | None = None) -> None:
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            self._send()

    def _send(self) -> None:
        if self._binding is not None and self._phase is not None:
            self._binding.reporter.advanced(self._binding.store, self._phase, self.done, self.total, self.unit)


def task(unit: Unit, total: float | None = None) -> Task:
    """A task of the running phase of the store being reported; a silent one when none is."""
    return Task(_CURRENT.get(), unit, total)
