"""What a restore tool (pg_restore, mysql, mongorestore or its pymongo stand-in) did, and the `restore` check
judged from it: one definition for every store kind that restores with a tool."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from verifiers.checks import CheckResult

SHOWN_ERROR_LINES = 50  # more would bury the summary; the count of the rest is given
KEPT_LINES = 5000  # of a tool's stderr, those `keep` selects; beyond, only their count


class StderrLines:
    """A restore tool's stderr, read by a thread as it is written and kept in memory: the lines `keep` selects
    (at most KEPT_LINES) and how many lines matched `counts` (pg_restore's per-entry lines, for progress).

    Not a file in the work dir, as it was: a work dir that filled up lost the very lines saying so (pg_restore
    exited 1 with nothing to show), and a client's echo of the statement that failed (row values) was written
    to disk. A thread, as subprocess.communicate uses, so a chatty tool never blocks on a full pipe while the
    caller feeds its stdin or watches the clock."""

    def __init__(self, pipe: IO[bytes], keep: Callable[[str], bool],
                 counts: re.Pattern[bytes] | None = None) -> None:
        self._pipe, self._keep, self._counts = pipe, keep, counts
        self.lines: list[str] = []
        self.dropped = 0
        self.counted = 0  # read from the caller's thread for progress: an int, replaced whole
        self._thread = threading.Thread(target=self._read, name="restore-stderr", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for raw in self._pipe:
            if self._counts is not None:
                self.counted += len(self._counts.findall(raw))
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not self._keep(line):
                continue
            if len(self.lines) < KEPT_LINES:
                self.lines.append(line)
            else:
                self.dropped += 1

    def finish(self, timeout: float = 30.0) -> list[str]:
        """The kept lines, once the tool (and every process holding its stderr) has exited and they are read."""
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._pipe.close()
        return self.lines + ([f"… and {self.dropped} more lines"] if self.dropped else [])


@dataclass
class RestoreOutcome:
    """What the restore did: exit code (None when it was stopped), the error lines (redacted by the store's
    restore module), whether it timed out."""

    tool: str
    exit_code: int | None = 0
    error_lines: list[str] = field(default_factory=list)
    timed_out: bool = False
    timeout_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error_lines and not self.timed_out


def restore_check(outcome: RestoreOutcome, artifact_name: str) -> CheckResult:
    observed = "timed out" if outcome.timed_out else f"exit {outcome.exit_code}, {len(outcome.error_lines)} errors"
    if outcome.timed_out:
        message = (f"{outcome.tool} did not finish {artifact_name} within restore_timeout "
                   f"({outcome.timeout_seconds:.0f}s)")
    elif outcome.ok:
        message = f"{outcome.tool} restored {artifact_name}: exit 0, no errors"
    else:
        message = (f"{outcome.tool} on {artifact_name} exited {outcome.exit_code}:\n"
                   + "\n".join(outcome.error_lines[:SHOWN_ERROR_LINES]))
        if len(outcome.error_lines) > SHOWN_ERROR_LINES:
            message += f"\n… and {len(outcome.error_lines) - SHOWN_ERROR_LINES} more lines"
    return CheckResult("restore", "restore", outcome.ok, observed, "exit 0, no errors", message)


def not_restorable(observed: str, message: str) -> CheckResult:
    """The failed restore check of an artifact no tool was run on: unreadable, or nothing here can restore it."""
    return CheckResult("restore", "restore", False, observed, "exit 0, no errors", message)
