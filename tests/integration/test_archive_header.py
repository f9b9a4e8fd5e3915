"""The pg_dump header reader on real archives of every format and both PostgreSQL majors here, and on
damaged files: each damage is named, with the artifact, before any server starts."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SOURCE_DB
from verifiers.errors import ArtifactFormatError
from verifiers.stores.postgres.archive import DumpFormat, read_header
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer

pytestmark = pytest.mark.postgres
SUFFIX = {"custom": ".dump", "directory": ".d", "tar": ".tar", "plain": ".sql"}


def dump(installation: PgInstallation, server: PostgresServer, fmt: str, out: Path) -> Path:
    path = out / f"{installation.major}{SUFFIX[fmt]}"
    subprocess.run([str(installation.tool("pg_dump")), f"--format={fmt}", f"--file={path}", "--schema-only"],
                   env=server.client_env(SOURCE_DB), check=True, capture_output=True)
    return path


@pytest.mark.parametrize("fmt", ["custom", "directory", "tar", "plain"])
def test_reads_every_format_from_every_pg_dump(installations: tuple[PgInstallation, ...],
                                               source_server: PostgresServer, oldest_pg: PgInstallation,
                                               tmp_path: Path, fmt: str) -> None:
    for installation in installations:
        header = read_header(dump(installation, source_server, fmt, tmp_path))
        assert header.format is DumpFormat(fmt)
        assert header.dump_version is not None and header.dump_version.startswith(f"{installation.major}.")
        assert header.server_version is not None and header.server_version.startswith(f"{oldest_pg.major}.")
        assert header.required_major == installation.major
        if fmt != "plain":
            assert header.database == SOURCE_DB


def test_gzipped_plain_dump(source_server: PostgresServer, oldest_pg: PgInstallation, tmp_path: Path) -> None:
    plain = dump(oldest_pg, source_server, "plain", tmp_path)
    packed = tmp_path / "x.sql.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    header = read_header(packed)
    assert header.format is DumpFormat.PLAIN and header.gzip


@pytest.fixture
def custom_dump(source_server: PostgresServer, oldest_pg: PgInstallation, tmp_path: Path) -> Path:
    return dump(oldest_pg, source_server, "custom", tmp_path)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: b"", "the file is empty"),
    (lambda b: b[:12], "the pg_dump header is truncated"),
    (lambda b: b[:40], "the pg_dump header is truncated"),
    (lambda b: b"\x89PNG\r\n\x1a\n" + b[8:], "not a PostgreSQL dump"),
    (lambda b: b"PGDMP\x07" + b[6:], "unknown pg_dump archive version 7."),
    (lambda b: b[:8] + b"\x03" + b[9:], "integer size 3"),
    (lambda b: gzip.compress(gzip.compress(b)), "compressed twice or a gzipped archive"),
    (lambda b: gzip.compress(b), "compressed twice or a gzipped archive"),
    (lambda b: b"\x1f\x8b" + b[2:200], "gzip data is corrupt"),
])
def test_damaged_headers_are_named(custom_dump: Path, damage: object, message: str) -> None:
    assert callable(damage)
    custom_dump.write_bytes(damage(custom_dump.read_bytes()))
    with pytest.raises(ArtifactFormatError) as info:
        read_header(custom_dump)
    assert info.value.describe().startswith(f"{custom_dump}: ")
    assert message in info.value.describe()


def test_directory_without_toc(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match=r"a directory without toc\.dat"):
        read_header(tmp_path)
