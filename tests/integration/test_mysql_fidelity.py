"""Restore fidelity on the MariaDB here (Debian's 10.11): a dump is restored on the source's flavour and release, the
engine check says so, and the evidence records the settings read back, the mode and the client used; "exact" for a
release not installed fails before anything is restored, saying what to install, while "nearest" restores it on
the nearest newer and says so; production-like mode restores with durable settings; an external server is
restored with the client of its own release; a manifest's recorded source version stands in for a dump that names
none, and a manifest from before it was recorded still verifies."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from tests.conftest import failed
from tests.mysql_support import MysqlCapture, manifest_claiming, mysql_verify
from verifiers.runner import StoreOutcome
from verifiers.stores.mysql.archive import read_header
from verifiers.stores.mysql.installations import MysqlInstallation
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]
GLOB = "*.sql.gz"


def record_of(outcome: StoreOutcome) -> dict[str, object]:
    assert outcome.sandbox is not None
    return dict(outcome.sandbox)


def settings_of(outcome: StoreOutcome) -> dict[str, str]:
    settings = record_of(outcome)["settings"]
    assert isinstance(settings, dict)
    return settings


def engine_of(outcome: StoreOutcome) -> tuple[bool, str]:
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    return engine.passed, engine.message


def series(installation: MysqlInstallation) -> str:
    return ".".join(installation.version.split(".")[:2])


def older_release(installation: MysqlInstallation) -> str:
    """A release below the installed one: 10.10 for 10.11 (11.99 for 12.0, no matter that it never existed)."""
    major, minor = installation.release
    return f"{major}.{minor - 1}" if minor else f"{major - 1}.99"


def test_restored_on_the_sources_flavour_and_release_with_settings_and_client_recorded(
        mysql_backup_dir: Path, mariadb: MysqlInstallation) -> None:
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    assert outcome.status == "passed", failed(outcome)
    record = record_of(outcome)
    assert (record["engine"], record["version"], record["mode"]) == ("mariadb", mariadb.version, "fast")
    settings = settings_of(outcome)
    assert settings["innodb_flush_log_at_trx_commit"] == "0" and settings["innodb_doublewrite"] == "OFF"
    assert settings["log_bin"] == "OFF"
    assert {"sync_binlog", "innodb_buffer_pool_size", "innodb_log_file_size"} <= set(settings)
    assert record["tools"] == {"mariadb": mariadb.version}
    passed, message = engine_of(outcome)
    assert passed and message.startswith(f"MariaDB {mariadb.version} sandbox for a MariaDB {mariadb.version}")
    assert message.endswith("source: the same flavour and release")


def test_production_like_mode_restores_with_durable_settings_and_says_so(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, GLOB, sandbox={"type": "local", "mode": "production-like"})
    assert outcome.status == "passed", failed(outcome)
    assert record_of(outcome)["mode"] == "production-like"
    settings = settings_of(outcome)
    assert settings["innodb_flush_log_at_trx_commit"] == "1" and settings["innodb_doublewrite"] == "ON"
    fast = settings_of(mysql_verify(mysql_backup_dir, GLOB))
    assert int(settings["innodb_log_file_size"]) > int(fast["innodb_log_file_size"])  # the engine's own size


@pytest.fixture
def older_source(mysql_backup_dir: Path, mysql_capture: MysqlCapture, mariadb: MysqlInstallation) -> Path:
    """The captured dump, its `-- Server version` saying a release below the installed one (10.10 for 10.11)."""
    dump = mysql_backup_dir / mysql_capture.dump.name
    text = gzip.decompress(dump.read_bytes())
    installed = f"{series(mariadb)}.".encode()
    line = re.search(rb"^-- Server version\s+" + re.escape(installed), text, re.M)
    assert line is not None
    older = f"{older_release(mariadb)}.".encode()
    dump.write_bytes(gzip.compress(text[:line.end() - len(installed)] + older + text[line.end():]))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    return dump


def test_an_exact_release_that_is_missing_fails_before_any_restore(mysql_backup_dir: Path, older_source: Path,
                                                                   mariadb: MysqlInstallation) -> None:
    wanted = f"MariaDB {older_release(mariadb)}"
    outcome = mysql_verify(mysql_backup_dir, GLOB, sandbox={"type": "local", "version_match": "exact"})
    assert outcome.status == "failed" and outcome.sandbox is None
    message = failed(outcome)["restore:restore"]
    assert message.startswith(f"store shop: {older_source.name} was dumped from mariadb {older_release(mariadb)}.")
    assert f"no {wanted} with its client, install_db tools to restore it on the source's own release" in message
    assert f"install {wanted} (e.g. the distribution's mariadb-server package of that release)" in message
    assert failed(outcome)["engine:sandbox"] == "not verified: no server here can restore this artifact"
    # nearest (the default) restores it on the nearest newer release and says so
    nearest = mysql_verify(mysql_backup_dir, GLOB)
    assert nearest.status == "passed", failed(nearest)
    passed, message = engine_of(nearest)
    assert passed and f"verified on another release (MariaDB {series(mariadb)}, not {wanted})" in message
    assert "the nearest that can take this dump here" in message


def test_an_external_server_gets_the_client_of_its_own_release_and_exact_refuses_another(
        mysql_backup_dir: Path, mysql_source: MysqlServer, mariadb: MysqlInstallation, older_source: Path) -> None:
    dsn = f"unix_socket={mysql_source.socket} user=root password={mysql_source.password} database=mysql"
    external = {"type": "external", "dsn": dsn, "allow_external": True}
    outcome = mysql_verify(mysql_backup_dir, GLOB, sandbox=external)
    assert outcome.status == "passed", failed(outcome)
    record = record_of(outcome)
    assert record["tools"] == {"mariadb": mariadb.version}  # the client of the target's release
    assert record["mode"] == "fast"  # the session's source server runs as the local sandbox does
    passed, message = engine_of(outcome)
    assert passed and "the external server the sandbox names" in message
    # "exact": the server's release is not the source's, so nothing is restored into it
    exact = mysql_verify(mysql_backup_dir, GLOB, sandbox={**external, "version_match": "exact"})
    assert exact.status == "failed"
    problems = failed(exact)
    assert "verified on another release" in problems["engine:sandbox"]
    assert problems["tables:tables"] == "not verified: the sandbox is not on the source's release"
    assert not any(c.check == "restore" for c in exact.checks)


def manifest_data(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_an_older_manifest_without_source_still_verifies(mysql_backup_dir: Path, mysql_capture: MysqlCapture,
                                                         mariadb: MysqlInstallation) -> None:
    """Manifests written before capture recorded its versions load and verify; the dump's own header still picks
    the server and judges the engine."""
    manifest = mysql_backup_dir / mysql_capture.manifest.name
    data = manifest_data(manifest)
    assert data.pop("source") is not None
    manifest.write_text(json.dumps(data))
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    assert outcome.status == "passed", failed(outcome)
    passed, message = engine_of(outcome)
    assert passed and message.endswith("source: the same flavour and release")


@pytest.fixture
def no_server_line(mysql_backup_dir: Path, mysql_capture: MysqlCapture) -> Path:
    """The captured dump without its `-- Server version` line, its manifest (with `source`) naming it."""
    dump = mysql_backup_dir / mysql_capture.dump.name
    text = gzip.decompress(dump.read_bytes())
    stripped = re.sub(rb"^-- Server version[^\n]*\n", b"", text, count=1, flags=re.M)
    assert stripped != text
    dump.write_bytes(gzip.compress(stripped))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    assert read_header(dump).server_version is None
    return mysql_backup_dir / mysql_capture.manifest.name


def test_a_dump_without_its_server_version_is_judged_by_the_manifests_record(
        mysql_backup_dir: Path, no_server_line: Path, mariadb: MysqlInstallation) -> None:
    source = manifest_data(no_server_line)["source"]
    assert isinstance(source, dict)
    outcome = mysql_verify(mysql_backup_dir, GLOB, sandbox={"type": "local", "version_match": "exact"})
    assert outcome.status == "passed", failed(outcome)
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    assert engine.compared and engine.expected == f"MariaDB {source['server_version']}"
    assert engine.message.endswith("source: the same flavour and release")
    # the recorded release picks the server: an older one than installed, required by "exact", is missing
    data = manifest_data(no_server_line)
    data["source"] = {**source, "server_version": f"{older_release(mariadb)}.3-MariaDB"}
    no_server_line.write_text(json.dumps(data))
    exact = mysql_verify(mysql_backup_dir, GLOB, sandbox={"type": "local", "version_match": "exact"})
    assert exact.status == "failed" and exact.sandbox is None
    assert f"no MariaDB {older_release(mariadb)} with its client" in failed(exact)["restore:restore"]
    # with nothing recorded anywhere the engine is not compared
    del data["source"]
    no_server_line.write_text(json.dumps(data))
    unknown = mysql_verify(mysql_backup_dir, GLOB)
    assert unknown.status == "passed", failed(unknown)
    (engine,) = [c for c in unknown.checks if c.check == "engine"]
    assert not engine.compared and "nor its manifest a `source`" in engine.message
