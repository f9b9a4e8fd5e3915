"""The phase clock: how long fetch, provision, restore, verify and teardown took, and the RTO they add up to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from verifiers import progress

PHASES = ("fetch", "provision", "restore", "verify", "teardown")
RTO_PHASES = ("fetch", "provision", "restore", "verify")


@dataclass
class RestoreTimer:
    """Times named phases with a monotonic clock; remembers the phase that was running when it failed."""

    seconds: dict[str, float] = field(default_factory=dict)
    current: str | None = None
    failed_phase: str | None = None
    reached: str | None = None  # the latest phase entered before teardown: where work between phases belongs

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; phases are {', '.join(PHASES)}")
        self.current = name
        if name != "teardown":
            self.reached = name
        start = time.monotonic()
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

    @property
    def rto_seconds(self) -> float:
        """Time until the restored data was verified: every phase but teardown."""
        return sum(self.seconds.get(p, 0.0) for p in RTO_PHASES)
