"""A cache of pristine initdb output, so a PostgreSQL sandbox starts in a fraction of a second.

initdb is most of a local sandbox's start (2-4 s against ~0.15 s for the server itself): it bootstraps the same
catalog every time. The first sandbox of an installation runs initdb as before, then keeps a copy of the fresh,
never-started data directory in the user's cache; later sandboxes copy that (`cp -a`, a reflink where the file
system can). The cache key covers everything that shapes the cluster: the binaries (path, version, size and
mtime of `postgres`), the initdb arguments and the owner's uid. A template is published by an atomic rename, so
a concurrent or interrupted run never sees half of one. A template unused for PRUNE_AFTER_DAYS (an upgraded
installation's old key, say) is deleted when another is published, so the cache does not grow without bound.
Set RESTOREPROOF_CACHE_DIR to move the cache, or to `off` to run initdb every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "RESTOREPROOF_CACHE_DIR"
PRUNE_AFTER_DAYS = 30  # a template's directory mtime is its last use
STALE_BUILD_HOURS = 24  # a staging directory older than this was left by an interrupted publish


def cache_root() -> Path | None:
    """Where templates live: $RESTOREPROOF_CACHE_DIR, else $XDG_CACHE_HOME/restoreproof, else ~/.cache/…"""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restoreproof"


def template_key(postgres_binary: Path, version: str, initdb_args: Sequence[str], uid: int) -> str:
    stat = postgres_binary.stat()
    material = "\0".join([str(postgres_binary.resolve()), version, str(stat.st_size), str(stat.st_mtime_ns),
                          *initdb_args, str(uid)])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def initialise_data_dir(data: Path, key: str, initdb: Callable[[], None]) -> bool:
    """Fill the empty directory `data` with a fresh cluster: a copy of the cached template when there is one,
    else by running `initdb` (then caching its output). Returns whether the template was used. A cache that
    cannot be read or written costs only the speed-up: initdb runs as before."""
    root = cache_root()
    template = None if root is None else root / "pg-templates" / key
    if template is not None and (template / "PG_VERSION").is_file():
        try:
            _copy_tree(template, data)
            _mark_used(template)
            return True
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not copy the PostgreSQL template %s (%s): running initdb", template, exc)
            _empty(data)
    initdb()
    if template is not None:
        _publish(data, template)
        _prune(template.parent, keep=template.name)
    return False


def _mark_used(template: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only cache still works; it is then pruned by age of publication
        os.utime(template)


def _prune(templates: Path, *, keep: str) -> None:
    """Delete templates unused for PRUNE_AFTER_DAYS and staging directories an interrupted publish left."""
    now = time.time()
    try:
        entries = list(templates.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue  # removed meanwhile by a concurrent run
        stale_build = entry.name.startswith(".build-") and age > STALE_BUILD_HOURS * 3600
        unused = not entry.name.startswith(".build-") and age > PRUNE_AFTER_DAYS * 86400
        if entry.name != keep and (stale_build or unused):
            log.info("removing the PostgreSQL template %s, unused for %d days", entry, age // 86400)
            shutil.rmtree(entry, ignore_errors=True)


def _publish(data: Path, template: Path) -> None:
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=template.parent))
    except OSError as exc:
        log.info("PostgreSQL template cache %s not writable (%s): initdb will run for every sandbox",
                 template.parent, exc)
        return
    try:
        _copy_tree(data, staging)
        os.rename(staging, template)  # atomic; fails if another process published first, which is as good
        staging = template
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("PostgreSQL template %s not published: %s", template, exc)
    finally:
        if staging != template:
            shutil.rmtree(staging, ignore_errors=True)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the contents of `source` into the existing directory `target`, keeping owners and modes (the
    server insists on both). GNU cp clones blocks where the file system allows it. A cluster is ~1000 small
    files and creating them is the cost (on an ext4 VM disk, most of a millisecond each), so each database
    directory under base/ is copied by its own cp, alongside one for the rest: about half the time of one cp."""
    cp = ["cp", "-a", "--reflink=auto"] if sys.platform.startswith("linux") else ["cp", "-a"]
    base = source / "base"
    if not base.is_dir():
        jobs = [[*cp, f"{source}/.", str(target)]]
    else:
        _copy_dir_itself(base, target / "base")
        rest = [str(child) for child in sorted(source.iterdir()) if child.name != "base"]
        databases = [str(child) for child in sorted(base.iterdir())]
        jobs = ([[*cp, *rest, str(target)]] if rest else []) + [[*cp, db, str(target / "base")] for db in databases]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for argv in jobs]
    failures = []
    for proc in procs:
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        if proc.returncode != 0:
            failures.append(f"cp exited with {proc.returncode}: {stderr.strip()[-500:]}")
    if failures:
        raise OSError("; ".join(failures))


def _copy_dir_itself(source: Path, target: Path) -> None:
    """Make `target` a directory with `source`'s mode and owner (its contents are copied separately)."""
    target.mkdir()
    stat = source.stat()
    os.chmod(target, stat.st_mode & 0o7777)
    if (stat.st_uid, stat.st_gid) != (os.getuid(), os.getgid()):
        os.chown(target, stat.st_uid, stat.st_gid)


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
