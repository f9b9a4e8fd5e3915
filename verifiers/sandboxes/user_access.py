"""Whether the unprivileged sandbox user can reach a path, decided from the permission bits the kernel checks.

As root the harness runs servers as another user (PostgreSQL refuses root). That user must be able to search
every directory above what it runs or writes: a clone in a 0700 directory, a virtualenv under /root or a
TMPDIR there hides a perfectly good binary from it. os.access() cannot answer this for another user, so the
mode bits are read the way the kernel applies them (owner, else group, else others; root-only ACL entries
are rare and a probe that runs the binary as the user stays the final word).
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import SandboxError
from verifiers.sandboxes.process import RunAs

TMPDIR_HINT = "point TMPDIR at a directory every user can enter (e.g. /tmp)"


@dataclass(frozen=True)
class Blocked:
    """The first directory (or the file itself) on a path that the user may not pass."""

    path: Path
    mode: int
    owner: int
    needs: str  # "search" for a directory, "read" / "execute" for the file

    def describe(self, user: RunAs) -> str:
        return f"{self.path} (mode {self.mode:04o}, owner uid {self.owner}) does not let {user.name} {self.needs} it"


def _allows(st: os.stat_result, user: RunAs, bits: tuple[int, int, int]) -> bool:
    owner_bit, group_bit, other_bit = bits
    if st.st_uid == user.uid:
        return bool(st.st_mode & owner_bit)
    if st.st_gid == user.gid:  # servers run with their primary group only (extra_groups=[])
        return bool(st.st_mode & group_bit)
    return bool(st.st_mode & other_bit)


_SEARCH = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
_READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
_EXECUTE = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def blocked(path: Path, user: RunAs, *, needs: str = "search") -> Blocked | None:
    """The first place on `path` (made absolute, symlinks followed) that `user` cannot pass, or None.
    `needs` is what the user does with `path` itself: "search" (a directory), "read" or "execute" (a file)."""
    target = path.resolve()
    for directory in [*reversed(target.parents), target] if needs == "search" else reversed(target.parents):
        st = directory.stat()
        if not _allows(st, user, _SEARCH):
            return Blocked(directory, stat.S_IMODE(st.st_mode), st.st_uid, "search")
    if needs != "search":
        st = target.stat()
        if not _allows(st, user, _READ if needs == "read" else _EXECUTE):
            return Blocked(target, stat.S_IMODE(st.st_mode), st.st_uid, needs)
    return None


def require_reachable(path: Path, user: RunAs | None, *, what: str, hint: str) -> None:
    """Fail at once, naming the directory that blocks and the fix, when `user` cannot enter `path`."""
    if user is None:
        return
    where = blocked(path, user)
    if where is not None:
        raise SandboxError(f"the sandbox user {user.name} cannot reach the {what} {path}: {where.describe(user)}",
                           hint=hint)


def private_workdir(prefix: str, user: RunAs | None, base: Path | None = None) -> Path:
    """A fresh 0700 directory for one sandbox, in `base` (default TMPDIR), owned by the sandbox user when there
    is one; refused at once, naming the directory that blocks, when that user could not enter it."""
    parent = base or Path(tempfile.gettempdir())
    require_reachable(parent, user, what="temporary directory", hint=TMPDIR_HINT)
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if user is not None:
        try:
            user.own(workdir)
        except OSError:
            workdir.rmdir()
            raise
    return workdir
