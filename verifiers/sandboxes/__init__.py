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
SandboxRecord = dict[str, str | dict[str, str]]  # evidence's `sandbox`: flat facts, then settings and tools
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxInfo:
    """What evidence records about a sandbox: its type, the engine and its version, and for a cloud sandbox
    what identifies it (e.g. `instance_arn`)."""

    type: str
    engine: str
    version: str
    details: Mapping[str, str] = field(default_factory=dict)
    # What bears on the restore time, as read back from the server (durability, WAL, memory, parallel jobs), the
    # client tools' versions, and the mode: "fast" (durability off) or "production-like" (durable settings).
    settings: Mapping[str, str] = field(default_factory=dict)
    tools: Mapping[str, str] = field(default_factory=dict)
    mode: str | None = None

    def record(self) -> SandboxRecord:
        """The evidence's `sandbox` record: type, engine, version, the details, then mode, settings and tools."""
        own: SandboxRecord = {"type": self.type, "engine": self.engine, "version": self.version}
        own.update({k: v for k, v in self.details.items() if k not in own})
        if self.mode is not None:
            own["mode"] = self.mode
        if self.settings:
            own["settings"] = dict(self.settings)
        if self.tools:
            own["tools"] = dict(self.tools)
        return own


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
