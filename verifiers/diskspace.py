"""Running out of disk space where the harness works is the harness's problem, not the backup's: the store is
an `error` (not a failed restore) whose message says so, names the directory and its free space, and the phase.

A full disk shows up in many shapes — an OSError from our own copy, initdb's or mariadb-install-db's output, a
pg_restore/mariadb error line, a server that crashed on it and is then "lost" while verifying — so the runner
looks for it in the error and in the failed restore check, once, for every store kind."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from verifiers.checks import CheckResult

# errno 28 is ENOSPC: MariaDB/MySQL say "Errcode: 28" or "failed with error 28", Rust tools "os error 28"
_NO_SPACE = re.compile(r"no space left on device|disk quota exceeded|disk full|errcode: 28\b|errno:? ?28\b|"
                       r"with error 28\b|os error 28\b|work dir's file system was full", re.IGNORECASE)
FULL_BELOW = 1 << 20  # free bytes under which a file system that a restore writes to counts as full
HINT = "free space there, or point the work dir (--work-dir / TMPDIR) at a disk with room for the restored data"


def says_disk_full(text: str) -> bool:
    return _NO_SPACE.search(text) is not None


def full_when_failed(where: Path, tool: str) -> str | None:
    """A line for a failed restore's errors when the work dir's file system is (all but) full as the tool fails,
    else None. Taken then, before teardown frees the space: the tool's own words need not say so (PostgreSQL's
    "could not write init file", a server that PANICs on its WAL and is only "gone" to pg_restore)."""
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return None
    if free >= FULL_BELOW:
        return None
    return f"the work dir's file system was full when {tool} failed ({free / 1024:.0f} KiB free in {where})"


def _first_line_saying_it(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if says_disk_full(line)), text.strip())[:300]


def _size(where: Path) -> str:
    """The file system's size (its free space now says nothing: the sandbox that filled it is gone)."""
    try:
        return f"a {shutil.disk_usage(where).total / 2**20:.0f} MiB file system"
    except OSError:
        return "file system size unknown"


def disk_full_error(store: str, where: Path, error: dict[str, str] | None,
                    checks: Iterable[CheckResult]) -> dict[str, str] | None:
    """The store's error record when a full disk is what went wrong, else None. A failed restore check that
    says so wins over a later error (a server that died of it is then lost while verifying)."""
    found = [("restore", c.message) for c in checks if c.check == "restore" and not c.passed]
    if error is not None:
        found.append((error["phase"], error["message"]))
    for phase, text in found:
        if says_disk_full(text):
            return {"phase": phase, "message": f"store {store}: out of disk space in the work dir {where} "
                    f"({_size(where)}) during {phase}: {_first_line_saying_it(text)} — {HINT}"}
    return None


def os_error_message(store: str, exc: OSError) -> str:
    """An OSError from the harness's own file work (a copy, a temp dir) as one line, for the store's error."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"store {store}: {exc.strerror or exc}{where}"
