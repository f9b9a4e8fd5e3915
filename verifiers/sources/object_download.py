"""What the cloud object sources (GCS, Azure Blob) share: the manifest cache, and a file writer that hashes
what it writes, so an artifact is streamed to disk in chunks (constant memory) and hashed on the way."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path

import google_crc32c

from verifiers import progress
from verifiers.sources.s3 import cache_dir


class HashingWriter:
    """A binary file that computes the sha256 (evidence), MD5 and CRC32C (the clouds' own checksums) of every
    byte written, and reports each chunk to the fetch phase's progress."""

    def __init__(self, target: Path, total: int | None) -> None:
        self._out = target.open("wb")
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc32c = google_crc32c.Checksum()
        self._progress = progress.task("bytes", total=total)
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self._out.write(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self._crc32c.update(chunk)
        self._progress.advance(len(chunk))
        self.size += len(chunk)
        return len(chunk)

    def close(self) -> None:
        self._out.close()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(self._md5.digest()).decode()

    @property
    def crc32c_b64(self) -> str:
        """As GCS gives it: base64 of the big-endian 4-byte value."""
        return base64.b64encode(self._crc32c.digest()).decode()


def save_manifest_bytes(location: str, body: bytes) -> Path:
    """A manifest read from a bucket, kept in the cache between plan and run; written atomically."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    target = cache_dir() / f"{hashlib.sha256(location.encode()).hexdigest()[:16]}-{name}"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
