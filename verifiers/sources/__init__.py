"""Where a backup comes from.

Two steps, so that pytest can collect checks cheaply: `locate` finds the newest artifact and its manifest
(a glob, a listing) without reading the artifact; `fetch` brings it to local disk and hashes it (timed
as the fetch phase). Each source type is one module registered in registry.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

CHUNK = 1 << 20  # the read size of every streamed file: hashing here, the kinds' gunzip, restore and capture copies


@dataclass(frozen=True)
class Located:
    """The newest artifact of a store, found but not yet read."""

    location: str  # as the user would name it: a path, an s3:// URL, an ARN
    path: Path  # where it is (or will be) on local disk
    manifest_path: Path | None
    modified: datetime
    details: Mapping[str, str] = field(default_factory=dict)  # e.g. snapshot ARN, KMS key: into the evidence


@dataclass(frozen=True)
class Artifact:
    """A fetched backup on local disk, with what the evidence needs to identify it."""

    location: str
    path: Path
    sha256: str
    bytes: int
    modified: datetime
    manifest_path: Path | None
    details: Mapping[str, str] = field(default_factory=dict)  # merged into the evidence's artifact record


class Source(Protocol):
    def locate(self, source: Any, *, base_dir: Path, store: str) -> Located: ...

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        """Bring the artifact to local disk (under `work_dir`, removed after the store's run) and hash it."""
        ...


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """`on_bytes` hears each chunk's size as it is hashed (the fetch phase's progress)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def sha256_tree(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """A directory artifact (pg_dump -Fd): digest over each file's relative name and digest, sorted."""
    digest = hashlib.sha256()
    for member in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{member.relative_to(path).as_posix()}\0{sha256_file(member, on_bytes)}\n".encode())
    return digest.hexdigest()
