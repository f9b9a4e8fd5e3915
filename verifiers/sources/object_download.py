"""What the cloud object sources (S3, GCS, Azure Blob) share: the manifest cache, and a file writer that hashes
what it writes, so an artifact is streamed to disk in chunks (constant memory) and hashed on the way. No cloud
SDK here: each source brings its own (GCS hands in its CRC32C, from the `gcp` extra)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from verifiers import progress
from verifiers.errors import SourceError
from verifiers.sources import Artifact, Located

CACHE_ENV = "RESTOREPROOF_CACHE_DIR"
LISTING = "listing.json"  # a bucket source's artifact: every object's name, size and checksum


class Checksum(Protocol):
    """A running checksum, as google_crc32c.Checksum is one."""

    def update(self, chunk: bytes) -> None: ...

    def digest(self) -> bytes: ...




class HashingWriter:
    """A binary file that computes the sha256 (evidence), MD5 and, when given one, the CRC32C (the clouds' own
    checksums) of every byte written, and reports each chunk to the fetch phase's progress."""

    def __init__(self, target: Path, total: int | None, *, crc32c: Checksum | None = None) -> None:
        self._out = target.open("wb")
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc32c = crc32c
        self._progress = progress.task("bytes", total=total)
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self._out.write(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        if self._crc32c is not None:
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
        if self._crc32c is None:
            raise TypeError("this writer computes no CRC32C: pass crc32c=google_crc32c.Checksum()")
        return base64.b64encode(self._crc32c.digest()).decode()


def cache_dir() -> Path:
    """Where manifests read from S3 are kept between plan and run (they hold counts and digests, no rows)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "restoreproof")
    path = Path(root).expanduser() / "s3-manifests"
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def write_listing(located: Located, objects: dict[str, dict[str, object]], newest: datetime | None, *,
                  work_dir: Path, store: str, sha256_of: str) -> Artifact:
    """The listing as the store's artifact: its sha256 identifies what was compared, in the evidence."""
    listing = work_dir / LISTING
    text = json.dumps(objects, sort_keys=True)
    try:
        listing.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"store {store}: cannot write the listing of {located.location} to {listing}: "
                          f"{exc.strerror}", hint="free disk space in the work dir (--work-dir)") from None
    size = sum(int(str(o["bytes"])) for o in objects.values())
    details: dict[str, Any] = {**located.details, "objects": str(len(objects)), "sha256_of": sha256_of}
    return Artifact(location=located.location, path=listing, sha256=hashlib.sha256(text.encode()).hexdigest(),
                    bytes=size, modified=(newest or located.modified).astimezone(UTC),
                    manifest_path=located.manifest_path, details=details)
