"""Readiness as a value object: one timeout/poll policy reused by every server we start."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from verifiers.errors import SandboxError


@dataclass(frozen=True)
class Readiness:
    timeout: float = 60.0
    interval: float = 0.05
    max_interval: float = 0.5

    def wait(
        self,
        probe: Callable[[], bool],
        *,
        what: str,
        alive: Callable[[], bool],
        log_tail: Callable[[], str],
        hint: str,
    ) -> float:
        """Poll `probe` until it is true; fail early if the process died, or at the timeout.

        Returns the seconds it took. The error carries the log tail and a hint, never a bare timeout.
        """
        start = time.monotonic()
        interval = self.interval
        while True:
            if probe():
                return time.monotonic() - start
            if not alive():
                raise SandboxError(f"{what} exited before it was ready; its log ends:\n{log_tail()}", hint=hint)
            if time.monotonic() - start > self.timeout:
                raise SandboxError(
                    f"{what} was not ready after {self.timeout:.0f}s; its log ends:\n{log_tail()}", hint=hint
                )
            time.sleep(interval)
            interval = min(interval * 1.5, self.max_interval)
