"""What a mysqldump / mariadb-dump artifact is, read from its header comment without restoring it.

    /*M!999999\\- enable the sandbox mode */                (MariaDB 10.5.25+, 10.6.18+, 10.11.8+, 11.x)
    -- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
    -- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
    -- Host: db.internal    Database: app
    -- Server version	10.11.19-MariaDB-0+deb12u1      (or 8.0.36, 8.0.mysql_aurora.3.05.2)

The server version decides the sandbox: the same flavour, at least the same release. A wrong or empty file
is named before any server starts. A dump written with --skip-comments has no header and is refused.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import ArtifactFormatError
from verifiers.filetypes import identify
from verifiers.stores.mysql.installations import version_tuple

HEAD_BYTES = 8192
TRAILER = b"-- Dump completed"
HINT = "point the store's source at a mysqldump / mariadb-dump SQL file (.sql or .sql.gz) written with comments"
_DUMP_LINE = re.compile(rb"^-- (MariaDB|MySQL) dump (\S+)\s+Distrib (\S+?),", re.M)
_SERVER_LINE = re.compile(rb"^-- Server version\s+(\S+)", re.M)
_DATABASE = re.compile(rb"^-- Host: .*?\s+Database: (\S+)", re.M)


@dataclass(frozen=True)
class DumpHeader:
    tool: str  # "mariadb" or "mysql": which dump program wrote it
    dump_version: str  # the dump program's own version, e.g. "10.19"
    distrib: str  # the client distribution, e.g. "10.11.19-MariaDB" or "8.0.36"
    server_version: str | None  # the server dumped, e.g. "10.11.19-MariaDB-0+deb12u1"
    database: str | None
    gzip: bool = False

    @property
    def flavour(self) -> str:
        """The server's flavour (a MariaDB client can dump a MySQL server and the other way round)."""
        if self.server_version is None:
            return self.tool
        return "mariadb" if "mariadb" in self.server_version.lower() else "mysql"

    @property
    def min_release(self) -> tuple[int, int]:
        """The lowest (major, minor) server that can take the dump: the one it came from."""
        version = self.server_version or self.distrib
        try:
            return version_tuple(version.removeprefix("5.5.5-"))
        except ValueError:
            return (0, 0)


def parse_header(head: bytes, artifact: str, *, gzipped: bool) -> DumpHeader:
    dump = _DUMP_LINE.search(head)
    if dump is None:
        what = identify(head)
        raise ArtifactFormatError(f"{artifact}: not a MySQL/MariaDB dump (no `-- MySQL dump` or `-- MariaDB dump` "
                                  f"header comment{'; it is ' + what if what else ''})", hint=HINT)
    server = _SERVER_LINE.search(head)
    database = _DATABASE.search(head)
    return DumpHeader(
        tool=dump.group(1).decode().lower(),
        dump_version=dump.group(2).decode(),
        distrib=dump.group(3).decode(),
        server_version=server.group(1).decode("utf-8", "replace") if server else None,
        database=database.group(1).decode("utf-8", "replace") if database else None,
        gzip=gzipped,
    )


def read_header(path: Path) -> DumpHeader:
    """The header of a plain or gzipped SQL dump; ArtifactFormatError naming the artifact otherwise."""
    artifact = str(path)
    try:
        if path.is_dir():
            raise ArtifactFormatError(f"{artifact}: a directory, not a SQL dump", hint=HINT)
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        if not head:
            raise ArtifactFormatError(f"{artifact}: the file is empty", hint="the backup job wrote nothing; check it")
        if head.startswith(b"\x1f\x8b"):
            try:
                with gzip.open(path, "rb") as gz:
                    inner = gz.read(HEAD_BYTES)
            except (OSError, EOFError) as exc:
                raise ArtifactFormatError(f"{artifact}: gzip data is corrupt: {exc}",
                                          hint="the backup is damaged; take a new one") from None
            if inner.startswith(b"\x1f\x8b"):
                raise ArtifactFormatError(f"{artifact}: compressed twice", hint="decompress it once")
            return parse_header(inner, artifact, gzipped=True)
        return parse_header(head, artifact, gzipped=False)
    except OSError as exc:
        raise ArtifactFormatError(f"{artifact}: cannot be read: {exc.strerror}") from None
