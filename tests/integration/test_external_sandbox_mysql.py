"""The `external` sandbox on a real MariaDB server the harness did not start (the session's "production"
server, reached by a DSN): the dump restored into a scratch database of its own and judged as the database the
manifest recorded, the scratch database dropped on success and failure, and refusals that create nothing."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import failed
from tests.mysql_support import MysqlCapture, manifest_claiming, mysql_verify
from verifiers.sandboxes import external
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]


def databases(server: MysqlServer) -> set[str]:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return {str(row[0]) for row in cur.fetchall()}
    finally:
        conn.close()


def accounts(server: MysqlServer) -> set[str]:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CONCAT(User, '@', Host) FROM mysql.user")
            return {str(row[0]) for row in cur.fetchall()}
    finally:
        conn.close()


def sandbox_on(server: MysqlServer, **extra: object) -> dict[str, object]:
    dsn = f"unix_socket={server.socket} user=root password={server.password} database=mysql"
    return {"type": "external", "dsn": dsn, **extra}


def test_restores_into_a_scratch_database_judged_as_the_captured_one(mysql_backup_dir: Path,
                                                                      mysql_source: MysqlServer) -> None:
    before, users = databases(mysql_source), accounts(mysql_source)
    outcome = mysql_verify(mysql_backup_dir, "*.sql.gz", sandbox=sandbox_on(mysql_source, allow_external=True))
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "external"
    assert str(outcome.sandbox["database"]).startswith(external.SCRATCH_PREFIX)
    assert mysql_source.password not in str(outcome.sandbox)
    assert databases(mysql_source) == before  # scratch dropped, nothing else touched
    assert accounts(mysql_source) == users  # no definer accounts created on a server we did not start


def test_refuses_without_opt_in_and_creates_nothing(mysql_backup_dir: Path, mysql_source: MysqlServer) -> None:
    before = databases(mysql_source)
    outcome = mysql_verify(mysql_backup_dir, "*.sql.gz", sandbox=sandbox_on(mysql_source))
    assert outcome.status == "error"
    assert outcome.error is not None and "refusing to restore" in outcome.error["message"]
    assert databases(mysql_source) == before


def test_a_failing_dump_still_drops_the_scratch_database(mysql_backup_dir: Path, mysql_capture: MysqlCapture,
                                                         mysql_source: MysqlServer) -> None:
    dump = mysql_backup_dir / mysql_capture.dump.name
    text = gzip.decompress(dump.read_bytes())
    dump.write_bytes(gzip.compress(text[: len(text) // 2]))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    before = databases(mysql_source)
    outcome = mysql_verify(mysql_backup_dir, "*.sql.gz", sandbox=sandbox_on(mysql_source, allow_external=True))
    assert outcome.status == "failed"
    assert "restore:restore" in failed(outcome)
    assert databases(mysql_source) == before


def test_a_dump_naming_another_database_is_refused_unrestored(mysql_backup_dir: Path, mysql_capture: MysqlCapture,
                                                              mysql_source: MysqlServer) -> None:
    dump = mysql_backup_dir / mysql_capture.dump.name
    text = gzip.decompress(dump.read_bytes())
    dump.write_bytes(gzip.compress(b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `victim`;\nUSE `victim`;\n" + text))
    manifest_claiming(mysql_capture.manifest, dump, mysql_backup_dir / mysql_capture.manifest.name)
    before = databases(mysql_source)
    outcome = mysql_verify(mysql_backup_dir, "*.sql.gz", sandbox=sandbox_on(mysql_source, allow_external=True))
    assert outcome.status == "failed"
    assert "names a database (line 1: CREATE DATABASE" in failed(outcome)["restore:restore"]
    assert databases(mysql_source) == before and "victim" not in before


def test_refuses_to_drop_a_scratch_database_whose_marker_changed(mysql_source: MysqlServer, mariadb: object) -> None:
    from verifiers.errors import SandboxError
    from verifiers.sandboxes.readiness import Readiness
    from verifiers.store_settings import ExternalSandbox
    from verifiers.stores.mysql.network_server import MARKER_TABLE, external_mysql

    settings = ExternalSandbox.model_validate(sandbox_on(mysql_source, allow_external=True))
    opening = external_mysql(mariadb, store="shop", settings=settings,  # type: ignore[arg-type]
                             charset="utf8mb4", collation="utf8mb4_general_ci", readiness=Readiness(timeout=10))
    claimed: list[str] = []
    try:
        with pytest.raises(SandboxError, match=r"refusing to drop scratch database .* marker is not the one"):
            claim_while_open(opening, claimed, MARKER_TABLE)
        assert claimed and claimed[0] in databases(mysql_source)  # refused: still there
    finally:
        conn = mysql_source.connect()
        with conn.cursor() as cur:
            for name in claimed:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def claim_while_open(opening: Any, claimed: list[str], marker_table: str) -> None:
    """Someone else re-marks the scratch database while the store uses it."""
    with opening as server:
        claimed.append(server.restore_database)
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute(f"UPDATE `{server.restore_database}`.`{marker_table}` SET marker = 'not ours'")  # noqa: S608
        conn.close()


def test_drift_is_named_as_in_the_captured_database(mysql_variant: Callable[..., Path],
                                                    mysql_source: MysqlServer) -> None:
    """Restored under a scratch name, a changed dump still fails exactly the checks it fails locally, each
    naming the captured database's objects (never the scratch name)."""
    artifact = mysql_variant("DROP INDEX orders_status_idx ON orders", "DROP FUNCTION order_total",
                             "UPDATE users SET nickname = '' WHERE id = 7")
    outcome = mysql_verify(artifact.parent, artifact.name, sandbox=sandbox_on(mysql_source, allow_external=True))
    problems = failed(outcome)
    assert set(problems) == {"schema:shop.orders", "schema:database", "checksum:shop.users"}, problems
    assert problems["schema:shop.orders"] == "shop.orders: index orders_status_idx dropped"
    assert problems["schema:database"] == "shop.order_total: function dropped"
    assert external.SCRATCH_PREFIX not in str(problems)
