"""Where a backup is restored: a disposable server that is always torn down.

A sandbox is a context manager yielding connection facts for the store's code; leaving it (success,
failure, timeout, Ctrl-C, SIGTERM) stops the server and removes everything it wrote.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from verifiers.errors import SandboxError

if TYPE_CHECKING:
    from verifiers.timing import RestoreTimer

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxInfo:
    """What evidence records about a sandbox: its type, the engine and its version, and for a cloud sandbox
    what identifies it (e.g. `instance_arn`)."""

    type: str
    engine: str
    version: str
    details: Mapping[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, str]:
        """The evidence's flat `sandbox` record: type, engine, version, then the details."""
        own = {"type": self.type, "engine": self.engine, "version": self.version}
        return {**own, **{k: v for k, v in self.details.items() if k not in own}}


@contextlib.contextmanager
def timed_sandbox(opening: AbstractContextManager[T], timer: RestoreTimer, *, store: str,
                  start_phase: str = "provision", what: str = "sandbox teardown",
                  close_failed_start: bool = False) -> Iterator[T]:
    """Enter a sandbox timed as `start_phase` (provision; for a server whose start is the restore, restore) and
    leave it timed as teardown. A teardown failure after an earlier error is logged, never hiding that error.
    `close_failed_start` times the clean-up of a start that failed half-way (a cloud restore that deletes what
    it created) as teardown too."""
    stack = contextlib.ExitStack()
    try:
        with timer.phase(start_phase):
            sandbox = stack.enter_context(opening)
    except BaseException:
        if close_failed_start:
            with timer.phase("teardown"):
                stack.close()
        raise
    failing = True
    try:
        yield sandbox
        failing = False
    finally:
        with timer.phase("teardown"):
            try:
                stack.close()
            except SandboxError:
                if not failing:
                    raise
                log.exception("store %s: %s failed after an earlier error", store, what)
