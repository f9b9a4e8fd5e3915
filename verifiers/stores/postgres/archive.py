"""What a pg_dump artifact is, read from its header without restoring it.

Knowing the format and the pg_dump / server versions up front lets the sandbox pick a pg_restore that can
read the archive (a newer pg_dump's archive must never be fed to an older pg_restore) and turns a wrong or
truncated file into a clear error before any server is started.

Custom-format header (src/bin/pg_dump/pg_backup_archiver.c, ReadHead): "PGDMP", version bytes
major/minor/revision, intSize, offSize, format; the compression (an int before archive 1.15, one byte
since); seven ints of the creation time; then strings: database name, server version, pg_dump version.
An int is a sign byte and intSize little-endian bytes; a string is an int length and its bytes.
"""

from __future__ import annotations

import gzip
import re
import tarfile
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import IO

from verifiers.errors import ArtifactFormatError
from verifiers.filetypes import identify

MAGIC = b"PGDMP"
_FORMATS = {1: "custom", 3: "tar", 5: "directory"}
_PLAIN_VERSION = re.compile(rb"^-- Dumped (from database|by pg_dump) version (\d+(?:\.\d+)?)", re.M)
HINT = "point the store's source at a pg_dump archive (-Fc, -Fd, -Ft) or a plain SQL dump (.sql, .sql.gz)"


class DumpFormat(Enum):
    CUSTOM = "custom"
    DIRECTORY = "directory"
    TAR = "tar"
    PLAIN = "plain"


@dataclass(frozen=True)
class DumpHeader:
    format: DumpFormat
    archive_version: str | None  # e.g. "1.16.0"; None for plain SQL
    server_version: str | None  # the server the dump was taken from, e.g. "15.18 (Debian ...)"
    dump_version: str | None  # the pg_dump that wrote it, e.g. "18.1"
    database: str | None
    gzip: bool = False

    @property
    def required_major(self) -> int:
        """The lowest PostgreSQL major whose pg_restore and server can take this dump."""
        majors = [major_of(v) for v in (self.dump_version, self.server_version) if v]
        return max(majors, default=0)


def major_of(version: str) -> int:
    match = re.match(r"(\d+)(?:\.(\d+))?", version)
    if not match:
        raise ValueError(f"not a PostgreSQL version: {version!r}")
    major = int(match.group(1))
    # Before 10, the major version had two parts (9.6); they all predate what we restore into.
    return major


class _Reader:
    def __init__(self, fh: IO[bytes], artifact: str) -> None:
        self.fh = fh
        self.artifact = artifact
        self.int_size = 4

    def take(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ArtifactFormatError(
                f"{self.artifact}: the pg_dump header is truncated (the file ends inside it)",
                hint="the backup is incomplete; take a new one",
            )
        return data

    def byte(self) -> int:
        return self.take(1)[0]

    def int(self) -> int:
        sign = self.byte()
        value = int.from_bytes(self.take(self.int_size), "little")
        return -value if sign else value

    def string(self) -> str | None:
        length = self.int()
        if length < 0:
            return None
        if length > 1 << 16:
            raise ArtifactFormatError(f"{self.artifact}: the pg_dump header is corrupt (string of {length} bytes)")
        return self.take(length).decode("utf-8", errors="replace")


def read_archive_header(fh: IO[bytes], artifact: str) -> DumpHeader:
    reader = _Reader(fh, artifact)
    if reader.take(5) != MAGIC:
        raise ArtifactFormatError(f"{artifact}: not a pg_dump archive (no PGDMP signature)", hint=HINT)
    vmaj, vmin = reader.byte(), reader.byte()
    vrev = reader.byte() if (vmaj, vmin) > (1, 0) else 0
    if vmaj != 1 or vmin > 99:
        raise ArtifactFormatError(f"{artifact}: unknown pg_dump archive version {vmaj}.{vmin}.{vrev}", hint=HINT)
    reader.int_size = reader.byte()
    if reader.int_size not in (4, 8):
        raise ArtifactFormatError(f"{artifact}: the pg_dump header is corrupt (integer size {reader.int_size})")
    if vmin >= 7:
        reader.byte()  # offset size
    fmt = reader.byte()
    if fmt not in _FORMATS:
        raise ArtifactFormatError(f"{artifact}: the pg_dump header is corrupt (format code {fmt})")
    if vmin >= 15:
        reader.byte()  # compression algorithm
    elif vmin >= 2:
        reader.int()  # compression level
    for _ in range(7):  # creation time (struct tm fields, the dumping host's local time)
        reader.int()
    database = reader.string() if vmin >= 4 else None
    server_version = dump_version = None
    if vmin >= 10:
        server_version, dump_version = reader.string(), reader.string()
    return DumpHeader(
        format=DumpFormat(_FORMATS[fmt]),
        archive_version=f"{vmaj}.{vmin}.{vrev}",
        server_version=server_version,
        dump_version=dump_version,
        database=database,
    )


def _plain_header(head: bytes, artifact: str, *, gzipped: bool) -> DumpHeader:
    versions = {m.group(1): m.group(2).decode() for m in _PLAIN_VERSION.finditer(head)}
    if not versions and b"PostgreSQL database dump" not in head:
        what = identify(head)
        raise ArtifactFormatError(f"{artifact}: not a PostgreSQL dump (no pg_dump header comment"
                                  f"{'; it is ' + what if what else ''})", hint=HINT)
    return DumpHeader(
        format=DumpFormat.PLAIN,
        archive_version=None,
        server_version=versions.get(b"from database"),
        dump_version=versions.get(b"by pg_dump"),
        database=None,
        gzip=gzipped,
    )


def read_header(path: Path) -> DumpHeader:
    """The header of any pg_dump output format; ArtifactFormatError naming the artifact otherwise."""
    artifact = str(path)
    try:
        if path.is_dir():
            toc = path / "toc.dat"
            if not toc.is_file():
                raise ArtifactFormatError(f"{artifact}: a directory without toc.dat is not a pg_dump -Fd dump",
                                          hint=HINT)
            with toc.open("rb") as fh:
                return _with_format(read_archive_header(fh, artifact), DumpFormat.DIRECTORY, artifact)
        with path.open("rb") as fh:
            head = fh.read(8192)
        if not head:
            raise ArtifactFormatError(f"{artifact}: the file is empty", hint="the backup job wrote nothing; check it")
        if head.startswith(MAGIC):
            with path.open("rb") as fh:
                return read_archive_header(fh, artifact)
        if head.startswith(b"\x1f\x8b"):
            try:
                with gzip.open(path, "rb") as gz:
                    inner = gz.read(8192)
            except (OSError, EOFError) as exc:
                raise ArtifactFormatError(f"{artifact}: gzip data is corrupt: {exc}") from None
            if inner.startswith(b"\x1f\x8b") or inner.startswith(MAGIC):
                raise ArtifactFormatError(
                    f"{artifact}: compressed twice or a gzipped archive; pg_restore reads neither",
                    hint="decompress it once, or store the archive as pg_dump wrote it",
                )
            return _plain_header(inner, artifact, gzipped=True)
        if len(head) >= 512 and head[257:262] == b"ustar":
            return _tar_header(path, artifact)
        return _plain_header(head, artifact, gzipped=False)
    except OSError as exc:
        raise ArtifactFormatError(f"{artifact}: cannot be read: {exc.strerror}") from None


def _tar_header(path: Path, artifact: str) -> DumpHeader:
    try:
        with tarfile.open(path, "r:") as tar:
            member = tar.extractfile("toc.dat")
            if member is None:
                raise KeyError("toc.dat")
            return _with_format(read_archive_header(member, artifact), DumpFormat.TAR, artifact)
    except (KeyError, tarfile.TarError) as exc:
        raise ArtifactFormatError(f"{artifact}: a tar file without a readable toc.dat ({exc})", hint=HINT) from None


def _with_format(header: DumpHeader, fmt: DumpFormat, artifact: str) -> DumpHeader:
    """The container decides: pg_dump writes the tar format code into a directory dump's toc.dat too."""
    return replace(header, format=fmt)
