"""The part every server-installation search shares: run each candidate's version command as the sandbox
user, stage a candidate that user cannot reach (verifiers/sandboxes/staging.py), and keep, for each one
refused, why — so that "no server found" lists what was looked at instead of hiding it.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from verifiers.errors import SandboxError
from verifiers.sandboxes.process import RunAs, run_as
from verifiers.sandboxes.staging import staged
from verifiers.sandboxes.user_access import blocked

T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """A candidate binary that was looked at and not used, and why."""

    path: Path
    origin: str
    reason: str

    def describe(self) -> str:
        return f"{self.path} ({self.origin}): {self.reason}"


@dataclass(frozen=True)
class Installations(Generic[T]):
    """What a search found, in preference order, and what it refused."""

    found: tuple[T, ...]
    refused: tuple[Refusal, ...] = ()

    def __iter__(self) -> Iterator[T]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def refused_text(self) -> str:
        """'; refused: …' for an error message, or '' when nothing was refused."""
        return "; refused: " + "; ".join(r.describe() for r in self.refused) if self.refused else ""


@dataclass(frozen=True)
class Probe:
    """A candidate's version output, and where it ran from (a staged copy when the original was out of reach)."""

    output: str
    binary: Path
    staged_from: Path | None = None


@dataclass
class Search:
    """One search's probing: `probe` returns a candidate's output or records why it was refused."""

    user: RunAs | None
    refused: list[Refusal] = field(default_factory=list)

    def refuse(self, path: Path, origin: str, reason: str) -> None:
        self.refused.append(Refusal(path, origin, reason))

    def probe(self, binary: Path, origin: str, *, args: Sequence[str] = ("--version",),
              tree: Path | None = None) -> Probe | None:
        """Run `binary args` as the sandbox user. When that user cannot reach `binary`, run it from a staged copy
        of `tree` (default: its directory) instead. None, with the reason recorded, when it is not usable."""
        if not binary.exists():
            self.refuse(binary, origin, "not found")
            return None
        if not binary.is_file():
            self.refuse(binary, origin, "not a file")
            return None
        if not os.access(binary, os.X_OK):
            self.refuse(binary, origin, f"not executable (mode {stat.S_IMODE(binary.stat().st_mode):04o})")
            return None
        run, staged_from = binary, None
        if self.user is not None and (where := blocked(binary, self.user, needs="execute")) is not None:
            tree = (tree or binary.parent).resolve()
            try:
                copy = staged(tree, self.user)
            except SandboxError as exc:
                self.refuse(binary, origin, f"{where.describe(self.user)}, and staging a copy failed: {exc.describe()}")
                return None
            # by the name it was found under (a link's name can select a mode: Debian's redis-server)
            original = binary.parent.resolve() / binary.name
            run, staged_from = copy / original.relative_to(tree), original
        try:
            result = run_as([str(run), *args], self.user, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            who = f" as {self.user.name}" if self.user else ""
            self.refuse(binary, origin, f"cannot be run{who}: {exc}")
            return None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()[-300:]
            self.refuse(binary, origin, f"`{' '.join(args)}` exited with {result.returncode}: {detail}")
            return None
        return Probe(output=result.stdout, binary=run, staged_from=staged_from)

    def unrecognised(self, binary: Path, origin: str, probe: Probe) -> None:
        self.refuse(binary, origin, f"no version in its output: {probe.output.strip()[:200]!r}")


def staged_note(origin: str, probe: Probe) -> str:
    """The origin as evidence and errors name it: where it was found, and that it runs from a staged copy."""
    return origin if probe.staged_from is None else f"{origin}, staged from {probe.staged_from.parent}"
