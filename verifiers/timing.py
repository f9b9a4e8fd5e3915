"""The phase clock: how long fetch, provision, restore, verify and teardown took, and the RTO they add up to;
and, inside the restore and verify phases, the steps a recovery goes through (STEPS).

A step is timed by `lap`: it ends when its lap is called and began where its phase began or where the previous
lap of that phase ended. Steps refine the phases and never replace them: the phases alone make the RTO, and
the steps of a phase need not cover all of it (what is left is that phase's other work: judging, self-test).
A step the kind cannot time honestly is recorded as not measured, with the reason, never as a guess.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from verifiers import progress

PHASES = ("fetch", "provision", "restore", "verify", "teardown")
RTO_PHASES = ("fetch", "provision", "restore", "verify")

# Each step and the phase it lies in, in the order a recovery reaches them (docs/evidence.md defines each).
STEPS = {
    "restore_schema": "restore",  # the empty database and the tables, types, functions (pg_restore pre-data)
    "restore_data": "restore",  # the rows (pg_restore --section=data)
    "restore_indexes": "restore",  # indexes, constraints, triggers (pg_restore --section=post-data)
    "first_query": "verify",  # until the restored database answered its first query (the list of its tables)
    "warm": "verify",  # then until every row of every table was read (the checksums)
}
RESTORE_STEPS = tuple(s for s, phase in STEPS.items() if phase == "restore")


class StepClock(Protocol):
    """Where a store kind's restore and measurement say a step ended, or why it cannot be timed."""

    def lap(self, step: str) -> None: ...

    def not_measured(self, step: str, reason: str) -> None: ...


class Untimed:
    """A StepClock that keeps nothing: for a measurement no restore is timed by (capture, the live database)."""

    def lap(self, step: str) -> None:
        pass

    def not_measured(self, step: str, reason: str) -> None:
        pass


UNTIMED = Untimed()


@dataclass
class RestoreTimer:
    """Times named phases with a monotonic clock; remembers the phase that was running when it failed."""

    seconds: dict[str, float] = field(default_factory=dict)
    current: str | None = None
    failed_phase: str | None = None
    reached: str | None = None  # the latest phase entered before teardown: where work between phases belongs
    steps: dict[str, float] = field(default_factory=dict)
    steps_not_measured: dict[str, str] = field(default_factory=dict)  # step -> why it has no time
    _lap_from: float = 0.0  # when the running phase began or its last lap ended

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; phases are {', '.join(PHASES)}")
        self.current = name
        if name != "teardown":
            self.reached = name
        start = self._lap_from = time.monotonic()
        progress.phase_started(name)  # the live line follows the phase clock
        failed = True
        try:
            yield
            failed = False
        except BaseException:
            self.failed_phase = self.failed_phase or name
            raise
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start
            self.current = None
            progress.phase_ended(name, failed=failed)

    def lap(self, step: str) -> None:
        """`step` ends now: it took the time since its phase began or the phase's previous lap."""
        self._check_step(step, running=True)
        now = time.monotonic()
        self.steps[step] = self.steps.get(step, 0.0) + now - self._lap_from
        self._lap_from = now
        self.steps_not_measured.pop(step, None)

    def not_measured(self, step: str, reason: str) -> None:
        """`step` has no time in this restore, and `reason` says why (evidence states it instead of a number)."""
        self._check_step(step, running=False)
        if step not in self.steps:
            self.steps_not_measured[step] = reason

    def _check_step(self, step: str, *, running: bool) -> None:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
        if running and self.current != STEPS[step]:
            raise ValueError(f"step {step!r} lies in the {STEPS[step]} phase, not in {self.current or 'no phase'}")

    @property
    def rto_seconds(self) -> float:
        """Time until the restored data was verified: every phase but teardown."""
        return sum(self.seconds.get(p, 0.0) for p in RTO_PHASES)
