"""The harness on real MariaDB: a good dump passes every check; each kind of damage or drift fails the right
check with a message naming the store, the artifact or the object, and no server or directory is left behind."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures import mysql_demo
from tests.conftest import failed
from tests.mysql_support import MysqlCapture, manifest_claiming, mysql_verify
from verifiers.stores.mysql.installations import MysqlInstallation

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]
GLOB = "shop-*.sql.gz"
TABLES = {f"shop.{t}" for t in mysql_demo.COUNTS}
ROOT = Path(__file__).resolve().parents[2]


def plain_copy(backup_dir: Path, capture: MysqlCapture) -> Path:
    """The captured dump, decompressed beside its manifest (which now names the plain file)."""
    plain = backup_dir / capture.dump.name.removesuffix(".gz")
    plain.write_bytes(gzip.decompress((backup_dir / capture.dump.name).read_bytes()))
    (backup_dir / capture.dump.name).unlink()
    manifest_claiming(capture.manifest, plain, backup_dir / capture.manifest.name)
    return plain


def test_good_dump_passes_every_check(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    assert outcome.status == "passed", failed(outcome)
    assert {c.check for c in outcome.checks} == {"artifact", "engine", "restore", "tables", "row_count", "checksum",
                                                 "schema", "sequence", "rto", "rpo"}
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "row_count"}
    assert counts == {f"shop.{t}": n for t, n in mysql_demo.COUNTS.items()}
    counters = {c.subject: c.observed for c in outcome.checks if c.check == "sequence"}
    assert counters == {"shop.accounts": 21, "shop.users": 201, "shop.orders": 606, "shop.audit_log": 606}
    assert set(outcome.timer.seconds) == {"fetch", "provision", "restore", "verify", "teardown"}
    assert outcome.sandbox is not None and outcome.sandbox["engine"] == "mariadb"
    evidence = json.dumps(outcome.as_evidence(), default=str)
    assert mysql_demo.MARKER not in evidence


def test_truncated_gzip_dump_fails(mysql_backup_dir: Path, mysql_capture: MysqlCapture) -> None:
    dump = mysql_backup_dir / mysql_capture.dump.name
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert problems[f"artifact:{dump.name}"].startswith(f"{dump.name}: sha256 differs from its manifest")
    assert "the gzip stream is corrupt or truncated" in problems["restore:restore"]
    assert any(k.startswith(("row_count:", "tables:", "schema:")) for k in problems), problems


def test_truncated_plain_dump_fails_even_when_the_manifest_agrees(mysql_backup_dir: Path,
                                                                   mysql_capture: MysqlCapture) -> None:
    plain = plain_copy(mysql_backup_dir, mysql_capture)
    text = plain.read_bytes()
    cut = text.index(b"\n", len(text) * 6 // 10) + 1  # at a line end: maybe mid-statement, maybe not
    plain.write_bytes(text[:cut])
    manifest_claiming(mysql_capture.manifest, plain, mysql_backup_dir / mysql_capture.manifest.name)
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql")
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert "ends without the dump's closing `-- Dump completed` line" in problems["restore:restore"]
    assert any(k.startswith(("row_count:", "tables:", "schema:")) for k in problems), problems


def test_flipped_bytes_in_the_data_fail(mysql_backup_dir: Path, mysql_capture: MysqlCapture) -> None:
    plain = plain_copy(mysql_backup_dir, mysql_capture)
    data = bytearray(plain.read_bytes())
    start = data.index(b"INSERT INTO `users` VALUES") + 200
    for offset in range(start, start + 40, 8):
        data[offset] ^= 0x01  # a flipped low bit: still printable, so the SQL may well parse
    plain.write_bytes(bytes(data))
    manifest_claiming(mysql_capture.manifest, plain, mysql_backup_dir / mysql_capture.manifest.name)
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql")
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert "restore:restore" in problems or "checksum:shop.users" in problems, problems
    assert mysql_demo.MARKER not in json.dumps(problems)


def test_flipped_bytes_in_a_gzip_dump_fail_even_when_the_manifest_agrees(mysql_backup_dir: Path,
                                                                          mysql_capture: MysqlCapture) -> None:
    """Damage before the manifest was written (its sha256 agrees): the gzip stream itself must give it away."""
    dump = mysql_backup_dir / mysql_capture.dump.name
    data = bytearray(dump.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64, 16):
        data[offset] ^= 0xFF
    dump.write_bytes(bytes(data))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert f"artifact:{dump.name}" not in problems
    assert "the gzip stream is corrupt or truncated: CRC check failed" in problems["restore:restore"]
    assert mysql_demo.MARKER not in json.dumps(outcome.as_evidence(), default=str)


def test_wrong_file_type_is_named_before_any_server_starts(mysql_backup_dir: Path,
                                                           mysql_capture: MysqlCapture) -> None:
    dump = mysql_backup_dir / mysql_capture.dump.name
    dump.write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(2000)))
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    assert f"{dump}: not a MySQL/MariaDB dump" in failed(outcome)["restore:restore"]
    assert outcome.sandbox is None
    assert failed(outcome)["row_count:shop.users"] == "not verified: the artifact could not be restored"


def test_dump_of_a_mysql_server_needs_a_mysql_sandbox(mysql_backup_dir: Path, mysql_capture: MysqlCapture,
                                                      mariadb: MysqlInstallation) -> None:
    dump = mysql_backup_dir / mysql_capture.dump.name
    text = gzip.decompress(dump.read_bytes())
    dump.write_bytes(gzip.compress(text.replace(b"-- Server version\t" + mariadb.version.encode(),
                                                b"-- Server version\t8.0.36 -- was ", 1)))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    outcome = mysql_verify(mysql_backup_dir, GLOB)
    message = failed(outcome)["restore:restore"]
    assert outcome.sandbox is None
    assert f"store shop: {dump.name} was dumped from mysql 8.0.36" in message
    assert "no MySQL 8.0 or newer" in message and "mysql-server" in message


def test_schema_drift_names_each_object(mysql_variant: Callable[..., Path]) -> None:
    """A dropped index, an added column, a missing routine and event, a dropped trigger: each is named, and
    only the checks they touch fail."""
    artifact = mysql_variant("DROP INDEX orders_status_idx ON orders", "ALTER TABLE users ADD COLUMN extra INT NULL",
                             "DROP FUNCTION order_total", "DROP EVENT nightly_purge", "DROP TRIGGER orders_audit")
    problems = failed(mysql_verify(artifact.parent, artifact.name))
    assert problems == {
        "schema:shop.orders": "shop.orders: index orders_status_idx dropped; shop.orders: trigger orders_audit dropped",
        "schema:shop.users": "shop.users.extra: column added",
        "checksum:shop.users": problems["checksum:shop.users"],  # every row has one more (NULL) value
        "schema:database": "shop.nightly_purge: event dropped; shop.order_total: function dropped",
    }
    assert problems["checksum:shop.users"].startswith("checksum differs: restored ")


def test_data_drift_null_vs_empty_string_missing_table_and_counter(mysql_variant: Callable[..., Path]) -> None:
    """NULL turned '' (and back) changes the checksum and nothing else; a dropped table fails the table set and
    its own checks; an AUTO_INCREMENT reset to max + 1 after the last rows were deleted would hand their ids
    out again: it went back from the captured value."""
    artifact = mysql_variant("UPDATE users SET nickname = '' WHERE id = 7",  # was NULL
                             "UPDATE accounts SET note = NULL WHERE id = 5",  # was ''
                             "DROP TABLE settings", "ALTER TABLE orders AUTO_INCREMENT = 1")
    problems = failed(mysql_verify(artifact.parent, artifact.name))
    assert set(problems) == {"checksum:shop.users", "checksum:shop.accounts", "tables:tables",
                             "row_count:shop.settings", "checksum:shop.settings", "schema:shop.settings",
                             "sequence:shop.orders"}
    assert problems["checksum:shop.users"].startswith("checksum differs: restored ")
    assert problems["tables:tables"] == "missing: shop.settings"
    assert problems["row_count:shop.settings"] == "shop.settings is missing after restore"
    assert problems["sequence:shop.orders"] == "next value 601 restored, captured 606: it went back"


def test_plain_dump_with_table_filters_and_assertions(mysql_backup_dir: Path, mysql_capture: MysqlCapture) -> None:
    plain_copy(mysql_backup_dir, mysql_capture)
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql", tables={"include": ["shop.*"],
                                                                   "exclude": ["shop.audit_log"]}, assertions=[
        {"name": "accounts", "sql": "SELECT COUNT(*) FROM accounts", "expect": 20},
        {"name": "revenue view", "sql": "SELECT COUNT(*) FROM account_revenue", "min": 1},
        {"name": "function", "sql": "SELECT order_total(1) >= 0", "expect": 1},
        {"name": "too many", "sql": "SELECT COUNT(*) FROM users", "max": 10},
        {"name": "broken", "sql": "SELECT nope FROM users", "min": 1},
        {"name": "read only", "sql": "INSERT INTO settings VALUES ('x', 'y')", "expect": 1},
        {"name": "no leak", "sql": f"SELECT COUNT(*) FROM users WHERE nickname = '{mysql_demo.MARKER}'",  # noqa: S608
         "expect": 1},
    ])
    subjects = {c.subject for c in outcome.checks if c.check == "row_count"}
    assert subjects == TABLES - {"shop.audit_log"}
    problems = failed(outcome)
    assert set(problems) == {"assertion:too many", "assertion:broken", "assertion:read only"}
    assert problems["assertion:too many"] == "returned 200, above the maximum 10"
    assert problems["assertion:broken"].startswith("query failed: Unknown column 'nope' in ")
    assert "READ ONLY transaction" in problems["assertion:read only"]
    assert mysql_demo.MARKER not in json.dumps(outcome.as_evidence(), default=str)


def test_restore_runs_as_an_unprivileged_user_when_root(mariadb: MysqlInstallation) -> None:
    from verifiers.stores.mysql.local_server import local_mysql

    with local_mysql(mariadb) as server:
        uid = Path(f"/proc/{server.pgid}").stat().st_uid
        mode = server.option_file.stat().st_mode & 0o777
        argv = Path(f"/proc/{server.pgid}/cmdline").read_bytes()
    assert mode == 0o600
    assert server.password.encode() not in argv
    assert b"--skip-networking" in argv
    if os.geteuid() == 0:
        assert uid != 0
    assert not server.workdir.exists()


def test_suite_run_writes_evidence_without_row_contents(mysql_capture: MysqlCapture, tmp_path: Path) -> None:
    """`pytest suites/mysql`, as users run it, in a subprocess: exit 0, one test item per check, evidence sealed."""
    (tmp_path / "backups").mkdir()
    for path in (mysql_capture.dump, mysql_capture.manifest):
        (tmp_path / "backups" / path.name).write_bytes(path.read_bytes())
    (tmp_path / "inventory.toml").write_text('[[stores]]\nname = "shop"\nkind = "mysql"\nrto = "15m"\n'
                                             'rpo = "3650d"\n[stores.source]\ntype = "file"\n'
                                             'path = "backups/shop-*.sql.gz"\n')
    result = subprocess.run([str(Path(sys.executable).parent / "pytest"), str(ROOT / "suites" / "mysql"),
                             "--inventory", "inventory.toml", "--reports-dir", "reports", "-p", "no:cacheprovider"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert ["shop", "mysql", "PASSED"] in [line.split()[:3] for line in result.stdout.splitlines()]  # the table
    (run_dir,) = (tmp_path / "reports").glob("*/*")
    evidence = json.loads((run_dir / "evidence.json").read_text())
    (store,) = evidence["stores"]
    assert (store["kind"], store["suite"], store["sandbox"]["engine"]) == ("mysql", "mysql", "mariadb")
    assert ("checksum", "shop.users") in {(c["check"], c["subject"]) for c in store["checks"]}
    for report in run_dir.iterdir():
        assert mysql_demo.MARKER.encode() not in report.read_bytes()
