"""The seam between the restored-data checks (canary, GDPR, migrations) and a store kind. A kind whose settings
model declares them (its COMPLIANCE) judges them by handing `attach.judge_restored` a `RestoredData` made in its
package's compliance.py, which holds everything the checks must know of that kind: its SQL or commands, its
driver and its errors. `restoreproof canary write` writes through the kind's `CanaryWriter` (its CANARY_WRITER)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from verifiers.compliance.canary import Canary
from verifiers.compliance.gdpr import Eraser, Finder
from verifiers.compliance.settings import CanarySettings, Place

# (does the restored data hold this canary token?, the time of its newest canary, None when it has none)
CanaryProbe = tuple[Callable[[str], bool], datetime | None]


class SandboxLost(Exception):
    """A session's sandbox server went away during the checks (killed, out of memory or disk): the store errors.
    `reason` is shown as it is, so it carries no credential and no row value."""

    def __init__(self, reason: str, *, hint: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class RestoredSession(Protocol):
    """One connection to the restored data, open for the canary and GDPR checks."""

    def canary_probe(self, settings: CanarySettings) -> CanaryProbe:
        """No canary table or key in the backup is judged as no canary present, not as an error."""
        ...

    def gdpr_finder(self, places: Sequence[Place]) -> Finder:
        """A place that cannot be read raises SandboxError (the GDPR checks fail, naming it; the run goes on)."""
        ...

    def gdpr_eraser(self, statements: Sequence[str]) -> Eraser | None:
        """Runs gdpr.erase_sql for the subjects found; None where the kind has no erasure statements."""
        ...


@dataclass(frozen=True)
class MigrationTarget:
    """Where the team's migration command finds the restored database."""

    url: str  # into the command's environment, as migrate.env_var
    env: Mapping[str, str] = field(default_factory=dict)  # more of it, e.g. libpq's PG* variables
    redact: Callable[[str], str] = str  # the command's output lines as reported: the server's row values cut


class RestoredData(Protocol):
    def session(self) -> AbstractContextManager[RestoredSession]:
        """Raises SandboxLost when the sandbox server is lost, on opening or during the checks."""
        ...

    def migration_target(self) -> MigrationTarget | None:
        """None when migrations cannot run against this kind's sandbox."""
        ...


class CanaryWriter(Protocol):
    """`restoreproof canary write` for one kind: writes a canary into the LIVE store."""

    @property
    def option(self) -> str:
        """The command's option naming the live store: "dsn" or "url"."""
        ...

    def write(self, target: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
        """`create`: create the canary table first where the kind has one (--create-table)."""
        ...
