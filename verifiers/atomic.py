"""Atomic writes: a crash or a failed run never leaves a half-written file under its final name."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_text_exclusively(path: Path, text: str) -> bool:
    """Create `path` holding `text` unless something is there already: True when written, False when it existed.

    Never overwrites, not even a file created meanwhile by another process: the text is written to a temporary
    file beside it, then hard-linked to its name, which fails when the name is taken (link(2) is atomic); so the
    name never shows a half-written file either. Where the file system has no hard links, an exclusive create
    (O_EXCL) keeps the first promise only. The file gets the permissions a new file gets (0666 less the umask).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            return _create_without_link(path, text)
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def _create_without_link(path: Path, text: str) -> bool:
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        return False
    return True


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask
