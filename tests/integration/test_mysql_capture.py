"""`restoreproof capture mysql`: a dump and a manifest that saw the same data even while production writes,
never half-written, no password anywhere, and a bad DSN a clear usage error; dumped with the source server's own
flavour and release of dump tool (a --bin-dir first), said on stderr and recorded in the manifest."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from fixtures import mysql_demo
from tests.conftest import failed
from tests.mysql_support import FIXED, SOURCE_DB, MysqlCapture, client, mysql_verify, source_dsn
from verifiers.cli import EXIT_USAGE, main
from verifiers.errors import CaptureError
from verifiers.sources import sha256_file
from verifiers.stores.mysql.archive import read_header
from verifiers.stores.mysql.capture import capture_mysql
from verifiers.stores.mysql.installations import MysqlInstallation, version_tuple
from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.mysql.manifest import load_manifest

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]


def test_writes_the_dump_and_its_manifest(mysql_capture: MysqlCapture) -> None:
    dump, manifest_path = mysql_capture.dump, mysql_capture.manifest
    assert dump.name == "shop-20261126T020000Z.sql.gz"
    assert manifest_path.name == "shop-20261126T020000Z.manifest.json"
    assert sorted(p.name for p in dump.parent.iterdir()) == sorted([dump.name, manifest_path.name])  # no partials
    manifest = json.loads(manifest_path.read_text())
    assert manifest["artifact"] == {"name": dump.name, "sha256": sha256_file(dump), "bytes": dump.stat().st_size,
                                    "format": "sql.gz"}
    assert (manifest["kind"], manifest["schema_version"], manifest["database"]) == ("mysql", 1, SOURCE_DB)
    assert manifest["captured_at"] == "2026-11-26T02:00:00Z"
    assert manifest["consistency"].startswith("LOCK TABLES ... READ held while")
    facts = manifest["facts"]
    assert {t: v["rows"] for t, v in facts["tables"].items()} == {f"shop.{t}": n for t, n in
                                                                   mysql_demo.COUNTS.items()}
    users = facts["tables"]["shop.users"]["schema"]
    assert users["column nickname"].startswith("varchar(50) CHARACTER SET utf8mb4")
    assert users["constraint users_account_fk"] == ("FOREIGN KEY (account_id) REFERENCES shop.accounts (id) "
                                                    "ON UPDATE RESTRICT ON DELETE CASCADE")
    assert "trigger orders_audit" in facts["tables"]["shop.orders"]["schema"]
    assert set(facts["objects"]) == {"database shop", "view shop.account_revenue", "function shop.order_total",
                                     "procedure shop.purge_audit", "event shop.nightly_purge"}
    assert facts["auto_increments"]["shop.orders"] == {"next_value": 606, "increment": 1,
                                                       "feeds": ["shop.orders.id"], "column_max": 600}
    header = read_header(dump)
    assert (header.flavour, header.database, header.gzip) == ("mariadb", SOURCE_DB, True)
    text = gzip.decompress(dump.read_bytes())
    for wanted in (b"PROCEDURE `purge_audit`", b"FUNCTION `order_total`", b"EVENT `nightly_purge`",
                   b"TRIGGER orders_audit", b"VIEW `account_revenue`", b"-- Dump completed"):
        assert wanted in text
    assert mysql_demo.MARKER not in manifest_path.read_text()


def test_cli_name_option_and_refusing_to_overwrite(mysql_source: MysqlServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dsn = source_dsn(mysql_source)
    assert main(["capture", "mysql", "--dsn", dsn, "--out", str(tmp_path), "--name", "billing-prod"]) == 0
    out = capsys.readouterr().out
    assert "backup:   " in out and "billing-prod-" in out and mysql_source.password not in out
    dump, _ = capture_mysql(dsn, tmp_path, name="billing", now=FIXED)
    with pytest.raises(CaptureError, match="already exists; refusing to overwrite"):
        capture_mysql(dsn, tmp_path, name="billing", now=FIXED)
    with pytest.raises(CaptureError, match="is not a plain file name"):
        capture_mysql(dsn, tmp_path, name="../escape")
    assert dump.exists()


def test_dump_and_manifest_agree_while_production_keeps_writing(mysql_source: MysqlServer,
                                                               mysql_capture: MysqlCapture, tmp_path: Path) -> None:
    """Writes during the capture land in neither or both: the restored dump matches its manifest, including
    the trigger-written audit rows of the same transactions."""
    client(mysql_source, "-e", "CREATE DATABASE busy")
    client(mysql_source, "--database=busy", stdin=gzip.decompress(mysql_capture.dump.read_bytes()))
    stop, batches, committed = threading.Event(), [0], threading.Condition()

    def write() -> None:
        conn = mysql_source.connect("busy")
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("INSERT INTO orders (user_id, amount, status, placed_on) "
                            "SELECT 1, 1.00, 'busy', '2026-01-01' FROM seq_1_to_25")
                with committed:
                    batches[0] += 1
                    committed.notify_all()
        conn.close()

    def wait_for_batch(after: int) -> int:
        with committed:
            committed.wait_for(lambda: batches[0] > after or stop.is_set(), timeout=60)
            return batches[0]

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for_batch(0)  # the capture starts on tables being written to
        capture_mysql(source_dsn(mysql_source, "busy"), tmp_path)
        wait_for_batch(batches[0])  # and writes went on after its snapshot
    finally:
        stop.set()
        writer.join()
    conn = mysql_source.connect("busy")
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM orders")
        row = cur.fetchone()
        assert row is not None
        live = int(row[0])
        cur.execute("DROP DATABASE busy")
    conn.close()
    outcome = mysql_verify(tmp_path, "busy-*.sql.gz")
    assert outcome.status == "passed", failed(outcome)
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "row_count"}
    assert 600 < counts["busy.orders"] < live
    assert counts["busy.audit_log"] == counts["busy.orders"]  # one audit row per order, in the same snapshot


@pytest.mark.parametrize("problem", ["password", "socket", "database"])
def test_bad_dsn_is_a_clear_usage_error_without_the_password(mysql_source: MysqlServer, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             problem: str) -> None:
    secret = "S3cret-pw-do-not-leak"
    socket = mysql_source.socket if problem != "socket" else tmp_path / "nowhere.sock"
    password = mysql_source.password if problem != "password" else secret
    database = "nonexistent" if problem == "database" else SOURCE_DB
    dsn = f"mysql://root:{password}@localhost/{database}?unix_socket={socket}"
    with pytest.raises(CaptureError) as info:
        capture_mysql(dsn, tmp_path / "out")
    message = info.value.describe()
    assert message.startswith(f"capture mysql: cannot connect to mysql://root:***@localhost/{database}"
                              f"?unix_socket={socket}: ")
    assert password not in message and "check the DSN" in message
    assert main(["capture", "mysql", "--dsn", dsn, "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("restoreproof: error: capture mysql: cannot connect to mysql://root:***@")
    assert password not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_unparseable_dsn_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "mysql", "--dsn", "mysql://root:pw@host:notaport/db", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "the DSN is not a valid URL" in err and "pw" not in err.replace("PASSWORD", "")


def test_a_password_with_quotes_hashes_and_backslashes_works(mysql_source: MysqlServer, tmp_path: Path) -> None:
    """The password reaches the dump tool through the option file intact, whatever it contains."""
    password = "a'b\"c #d\\e f"
    client(mysql_source, "-e", "CREATE USER 'backup'@'localhost' IDENTIFIED BY 'a\\'b\"c #d\\\\e f'; "
           "GRANT SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON shop.* TO 'backup'@'localhost'; "
           "GRANT SELECT ON mysql.proc TO 'backup'@'localhost'")
    try:
        dsn = f"mysql://backup:{quote(password, safe='')}@localhost/{SOURCE_DB}?unix_socket={mysql_source.socket}"
        dump, manifest = capture_mysql(dsn, tmp_path)
        assert json.loads(manifest.read_text())["facts"]["tables"]["shop.users"]["rows"] == 200
        assert password.encode() not in gzip.decompress(dump.read_bytes())
    finally:
        client(mysql_source, "-e", "DROP USER 'backup'@'localhost'")


def stand_in_dump_tool(directory: Path, name: str, version_line: str) -> Path:
    """The real mariadb-dump under `name`, saying `version_line` to --version: another release's or flavour's dump
    tool to the choice and the record, whose dump is still a real one."""
    real = shutil.which("mariadb-dump")
    assert real is not None
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text(f'#!/bin/sh\ncase "$*" in *--version*) echo "{version_line}";; *) exec {real} "$@";; esac\n')
    tool.chmod(0o755)
    return tool


def server_says(server: MysqlServer) -> tuple[str, str]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@version_comment")
        row = cur.fetchone()
    conn.close()
    assert row is not None
    return str(row[0]), str(row[1])


def test_the_manifest_records_the_source_server_and_the_dump_tool(mysql_capture: MysqlCapture,
                                                                  mysql_source: MysqlServer) -> None:
    source = load_manifest(mysql_capture.manifest, store="shop").source
    assert source is not None
    assert (source.server_version, source.version_comment) == server_says(mysql_source)
    assert source.flavour == "mariadb"
    # the tool of the server's own flavour and release, as the dump it wrote says too
    assert version_tuple(source.dump_tool_version) == version_tuple(source.server_version)
    assert re.fullmatch(rf"mariadb-dump {re.escape(source.dump_tool_version)} \(\S+, /\S+/mariadb-dump\)",
                        source.dump_tool)
    header = read_header(mysql_capture.dump)
    assert header.distrib.startswith(f"{source.dump_tool_version}-MariaDB")


def test_the_sources_flavour_is_chosen_over_another_on_path_and_said_on_stderr(
        mysql_source: MysqlServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A MySQL 8.4 mysqldump at the head of PATH (one that could not dump anything) is passed over for the MariaDB
    source's own mariadb-dump, and stderr says which tool, its version and origin, and the server's version."""
    mysql84 = tmp_path / "mysql-8.4"
    mysql84.mkdir()
    (mysql84 / "mysqldump").write_text('#!/bin/sh\ncase "$*" in *--version*) echo "mysqldump  Ver 8.4.1 for Linux '
                                       'on x86_64 (MySQL Community Server - GPL)";; esac\nexit 7\n')
    (mysql84 / "mysqldump").chmod(0o755)
    monkeypatch.setenv("PATH", f"{mysql84}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    assert main(["capture", "mysql", "--dsn", source_dsn(mysql_source), "--out", str(out)]) == 0
    version, _ = server_says(mysql_source)
    (manifest,) = out.glob("*.manifest.json")
    source = load_manifest(manifest, store="shop").source
    assert source is not None and source.dump_tool.startswith("mariadb-dump ")
    err = capsys.readouterr().err
    assert err == f"capture mysql: {source.dump_tool} for a MariaDB {version} server\n"
    assert re.fullmatch(r"mariadb-dump [\d.]+ \((PATH|system), /\S+/mariadb-dump\)", source.dump_tool)
    assert mysql_source.password not in err


def test_a_bin_dir_dump_tool_comes_first_and_an_older_one_is_said_and_recorded(
        mysql_source: MysqlServer, mariadb: MysqlInstallation, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    major, minor = mariadb.release
    older = f"{major}.{minor - 1}.4" if minor else f"{major - 1}.99.4"
    tool = stand_in_dump_tool(tmp_path / "bin", "mariadb-dump",
                              f"mariadb-dump  Ver 10.19 Distrib {older}-MariaDB, for debian-linux-gnu (x86_64)")
    dump, manifest = capture_mysql(source_dsn(mysql_source), tmp_path / "out", bin_dir=str(tool.parent), now=FIXED)
    source = load_manifest(manifest, store="shop").source
    assert source is not None
    assert (source.dump_tool, source.dump_tool_version) == (f"mariadb-dump {older} (--bin-dir, {tool})", older)
    wanted = f"MariaDB {major}.{minor}"
    assert capsys.readouterr().err == (
        f"capture mysql: mariadb-dump {older} (--bin-dir, {tool}) for a MariaDB {source.server_version} server: the "
        f"one --bin-dir names, which may not know what {wanted} added — install the {wanted} dump tool (the "
        "mariadb-client package of that release) to dump with the server's own\n")
    outcome = mysql_verify(dump.parent, "shop-*.sql.gz")
    assert outcome.status == "passed", failed(outcome)
