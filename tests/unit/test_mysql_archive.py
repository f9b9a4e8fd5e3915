"""The mysqldump / mariadb-dump header reader: flavour, versions and database from real header shapes, and
each kind of wrong file named with the artifact."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from verifiers.errors import ArtifactFormatError
from verifiers.stores.mysql.archive import read_header

MARIADB = (b"/*M!999999\\- enable the sandbox mode */ \n"
           b"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n--\n"
           b"-- Host: localhost    Database: shop\n-- ------------------------------------------------------\n"
           b"-- Server version\t10.11.19-MariaDB-0+deb12u1\n\n/*!40101 SET NAMES utf8mb4 */;\n")
MYSQL = (b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: db    Database: app\n"
         b"-- ------------------------------------------------------\n-- Server version\t8.0.36\n")
AURORA = MYSQL.replace(b"Server version\t8.0.36", b"Server version\t8.0.mysql_aurora.3.05.2")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_mariadb_dump(tmp_path: Path) -> None:
    header = read_header(write(tmp_path, "a.sql", MARIADB))
    assert (header.tool, header.flavour, header.dump_version, header.distrib, header.database, header.gzip) == (
        "mariadb", "mariadb", "10.19", "10.11.19-MariaDB", "shop", False)
    assert header.min_release == (10, 11)


@pytest.mark.parametrize(("data", "release"), [(MYSQL, (8, 0)), (AURORA, (8, 0))])
def test_mysql_and_aurora_dumps(tmp_path: Path, data: bytes, release: tuple[int, int]) -> None:
    header = read_header(write(tmp_path, "a.sql.gz", gzip.compress(data)))
    assert (header.flavour, header.min_release, header.database, header.gzip) == ("mysql", release, "app", True)


def test_a_mariadb_client_dumping_a_mysql_server_needs_mysql(tmp_path: Path) -> None:
    data = MARIADB.replace(b"10.11.19-MariaDB-0+deb12u1", b"8.0.36")
    header = read_header(write(tmp_path, "a.sql", data))
    assert (header.tool, header.flavour) == ("mariadb", "mysql")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a MySQL/MariaDB dump"),
    (b"CREATE TABLE t (id int);\n", "not a MySQL/MariaDB dump"),
    (b"-- PostgreSQL database dump\n", "not a MySQL/MariaDB dump"),
    (gzip.compress(gzip.compress(MYSQL)), "compressed twice"),
    (b"\x1f\x8b" + bytes(50), "gzip data is corrupt"),
])
def test_wrong_files_are_named(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, "bad.sql.gz", data)
    with pytest.raises(ArtifactFormatError) as info:
        read_header(path)
    assert info.value.describe().startswith(f"{path}: ")
    assert message in info.value.describe()


def test_a_directory_is_not_a_dump(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match="a directory, not a SQL dump"):
        read_header(tmp_path)
