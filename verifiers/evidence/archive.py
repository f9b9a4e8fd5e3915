"""Where evidence is kept beyond one CI job: an ARCHIVE, the same layout in three kinds of place.

Layout (an archive is also a reports root: runs where a reports directory has them):
    YYYY-MM/<run-id>/...     each job's sealed run, uploaded once, never overwritten (evidence upload)
    seals/NNNNNN.json        the archive's chain: one entry per seal, linking the runs uploaded since the
                             previous entry after that entry (evidence seal); NNNNNN.json.sig signs it
    index.html, index.json   the auditors' landing page (evidence index), the only files ever replaced

Every kind offers two operations: `mirror` copies the whole archive into an empty local directory (verify,
seal and index work on that copy), and `publish` creates files only where absent — an identical file already
there is fine, a different one is a conflict, never an overwrite. Two seals racing for the same entry number
therefore cannot both land: the loser sees the conflict, mirrors again and retries or stops.

A folder and an S3 archive also read selectively (SelectiveArchive: `paths`, then `fetch` of a few of them), for a
reader that needs only some runs' files (an earlier month's configuration, verifiers/compliance/
configuration_history.py); a git archive's branch tip is fetched whole by git anyway, so it is mirrored.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from verifiers.errors import EvidenceError

REPLACEABLE = frozenset({"index.html", "index.json"})
STAGING_PREFIX = ".upload-"  # a LocalArchive writer's file in flight (or left by a killed writer): not evidence


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise EvidenceError(f"{url!r} is not an S3 URL", hint="write s3://BUCKET or s3://BUCKET/PREFIX")
        bucket, _, prefix = url[5:].partition("/")
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass
class UploadReport:
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    retention_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.refused


class ArchiveConflict(EvidenceError):
    """A file to create already exists in the archive with other content (or another seal won the race)."""


class Archive(Protocol):
    url: str

    def mirror(self, into: Path) -> None:
        """Copy every file of the archive into the empty directory `into`."""
        ...

    def publish(self, files: Mapping[str, Path], *, message: str) -> None:
        """Create each archive path (POSIX, relative) from its local file, only where absent; REPLACEABLE paths
        are replaced. ArchiveConflict when one exists with other content; nothing of a conflicting batch is
        half-written where the kind allows (a git commit is one push; S3 and folders write the paths in the
        order given, so callers put a run's SHA256SUMS last)."""
        ...


@runtime_checkable
class SelectiveArchive(Archive, Protocol):
    """An archive that lists its files and copies only some of them."""

    def paths(self) -> list[str]:
        """Every file's archive path (POSIX, relative); an archive not created yet has none."""
        ...

    def fetch(self, paths: Collection[str], into: Path) -> None:
        """Copy these archive paths into the directory `into`, at the same relative paths."""
        ...


class LocalArchive:
    """A directory (a mounted share, a backup volume): files created with an exclusive link, so two writers
    of the same path cannot both succeed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def mirror(self, into: Path) -> None:
        if self.root.is_dir():
            # A concurrent writer's staging files are not copied: one that vanished between the listing and the
            # copy failed the mirror (a seal racing another one), and a killed writer's would read as a file
            # added to the evidence.
            shutil.copytree(self.root, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns(f"{STAGING_PREFIX}*"))
        else:
            self._check_reachable()

    def paths(self) -> list[str]:
        self._check_reachable()
        if not self.root.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file() and not p.name.startswith(STAGING_PREFIX))

    def fetch(self, paths: Collection[str], into: Path) -> None:
        for rel in paths:
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(self.root / rel, target)
            except OSError as exc:
                raise EvidenceError(f"archive {self.url}: cannot read {rel}: {exc}",
                                    hint="check the path and its permissions") from None

    def _check_reachable(self) -> None:
        if not self.root.is_dir() and not self.root.parent.is_dir():
            # a new archive is made on first upload, in a directory that exists
            raise EvidenceError(f"archive {self.url}: no such directory, nor its parent",
                                hint="check the path, or create the directory (an empty one is an empty archive)")

    def publish(self, files: Mapping[str, Path], *, message: str) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for rel, source in files.items():
                self._create(rel, source)
        except OSError as exc:
            raise EvidenceError(f"archive {self.url}: cannot write: {exc}",
                                hint="check the path, its permissions and free space") from exc

    def _create(self, rel: str, source: Path) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkstemp(prefix=STAGING_PREFIX, dir=target.parent)[1])
        try:
            shutil.copyfile(source, staging)
            if rel in REPLACEABLE:
                os.replace(staging, target)
                return
            try:
                os.link(staging, target)  # fails if the path exists: create-only, atomic
            except FileExistsError:
                if target.read_bytes() != source.read_bytes():
                    raise ArchiveConflict(f"archive {self.url}: {rel} already exists with other content; archived "
                                          "evidence is never overwritten") from None
        finally:
            staging.unlink(missing_ok=True)
