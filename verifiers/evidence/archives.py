"""The one place an ARCHIVE argument becomes an archive: s3://BUCKET[/PREFIX], git:BRANCH or git+REMOTE#BRANCH,
else a local directory (verifiers/evidence/archive.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verifiers.evidence.archive import Archive, LocalArchive, S3Location
from verifiers.evidence.archive_git import GitArchive
from verifiers.evidence.defaults import DEFAULT_RETENTION_DAYS
from verifiers.extras import needed_by


def open_archive(url: str, *, endpoint_url: str | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> Archive:
    if url.startswith("s3://"):
        location = S3Location.parse(url)
        with needed_by(f"the evidence archive {location}"):
            from verifiers.evidence.archive_s3 import S3Archive
        return S3Archive(location, endpoint_url=endpoint_url, retention_days=retention_days)
    if url.startswith(("git:", "git+")):
        return GitArchive.parse(url)
    return LocalArchive(Path(url))


def is_remote(url: str) -> bool:
    return url.startswith(("s3://", "git:", "git+"))


@contextmanager
def mirrored(archive: Archive) -> Iterator[Path]:
    """A local copy of the whole archive, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="restoreproof-archive-") as work:
        copy = Path(work) / "archive"
        copy.mkdir()
        archive.mirror(copy)
        yield copy
