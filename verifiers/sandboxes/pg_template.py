"""A cache of pristine initdb output, so a PostgreSQL sandbox starts in a fraction of a second.

initdb is most of a local sandbox's start (2-4 s against ~0.15 s for the server itself): it bootstraps the same
catalog every time. The first sandbox of an installation runs initdb as before, then keeps a copy of the fresh,
never-started data directory in the user's cache; later sandboxes copy that (`cp -a`, a reflink where the file
system can). The cache key covers everything that shapes the cluster: the binaries (path, version, size and
mtime of `postgres`), the initdb arguments and the owner's uid. A template is published by an atomic rename, so
a concurrent or interrupted run never sees half of one. Set RESTOREPROOF_CACHE_DIR to move the cache, or to
`off` to run initdb every time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "RESTOREPROOF_CACHE_DIR"


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
            return True
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not copy the PostgreSQL template %s (%s): running initdb", template, exc)
            _empty(data)
    initdb()
    if template is not None:
        _publish(data, template)
    return False


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
    server insists on both). GNU cp clones blocks where the file system allows it."""
    argv = ["cp", "-a", f"{source}/.", str(target)]
    if sys.platform.startswith("linux"):
        argv.insert(2, "--reflink=auto")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise OSError(f"cp exited with {result.returncode}: {result.stderr.strip()[-500:]}")


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
