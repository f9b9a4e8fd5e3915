"""Canary and GDPR erasure replay on a real MariaDB restore: a small live database, a canary written with
`restoreproof canary write --dsn mysql://…`, a real capture; one run where every check passes, one where each
fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.mysql_support import client, mysql_verify
from verifiers import cli
from verifiers.stores.mysql.capture import capture_mysql
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = [pytest.mark.mysql, pytest.mark.usefixtures("no_mysql_leftovers")]
LIVE_DB = "compliance_shop"
PLACES = [{"table": "customers", "column": "email"}, {"table": f"{LIVE_DB}.tickets", "column": "customer_email"}]
ERASE = ["DELETE FROM tickets WHERE customer_email = %(subject)s", "DELETE FROM customers WHERE email = %(subject)s"]


@dataclass(frozen=True)
class LiveDump:
    directory: Path
    captured_at: datetime


@pytest.fixture(scope="module")
def live_dump(mysql_source: MysqlServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDump]:
    client(mysql_source, "-e", f"CREATE DATABASE {LIVE_DB}")
    client(mysql_source, f"--database={LIVE_DB}", "-e",
           "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL) ENGINE=InnoDB;"
           "CREATE TABLE tickets (id INT PRIMARY KEY, customer_email VARCHAR(100)) ENGINE=InnoDB;"
           "INSERT INTO customers VALUES (1, 'alice@example.com'), (2, 'bob@example.com');"
           "INSERT INTO tickets VALUES (1, 'bob@example.com'), (2, 'erin@example.com');")
    directory = tmp_path_factory.mktemp("compliance-mysql")
    (directory / "inventory.toml").write_text('[[stores]]\nname = "shop"\nkind = "mysql"\nrto = "15m"\nrpo = "30d"\n'
                                              '[stores.source]\ntype = "file"\npath = "shop-*.sql.gz"\n'
                                              '[stores.canary]\n')
    dsn = f"unix_socket={mysql_source.socket} user=root password={mysql_source.password} database={LIVE_DB}"
    try:
        assert cli.main(["canary", "write", "--inventory", str(directory / "inventory.toml"), "--store", "shop",
                         "--dsn", dsn, "--create-table"]) == 0
        _, manifest = capture_mysql(dsn, directory, name="shop")
        captured = datetime.fromisoformat(json.loads(manifest.read_text())["captured_at"].replace("Z", "+00:00"))
        yield LiveDump(directory, captured)
    finally:
        client(mysql_source, "-e", f"DROP DATABASE IF EXISTS {LIVE_DB}")


def ledger(path: Path, entries: list[tuple[str, datetime]]) -> str:
    path.write_text("subject_id,erased_at\n" + "".join(f"{s},{t.isoformat()}\n" for s, t in entries))
    return str(path)


def test_canary_and_erasure_replay_on_mariadb(live_dump: LiveDump, tmp_path: Path) -> None:
    """One restore (a MariaDB sandbox takes seconds to initialise) judging passes and a failure side by side:
    the canary is there, alice was erased after the backup (to re-erase), bob before it (a failure), and the
    erasure SQL removes both from customers and tickets."""
    erasures = ledger(tmp_path / "l.csv", [("alice@example.com", live_dump.captured_at + timedelta(hours=1)),
                                           ("bob@example.com", live_dump.captured_at - timedelta(days=1)),
                                           ("carol@example.com", live_dump.captured_at - timedelta(days=1))])
    outcome = mysql_verify(live_dump.directory, "shop-*.sql.gz", canary={},
                           gdpr={"ledger": erasures, "places": PLACES, "erase_sql": ERASE})
    compliance = {f"{c.check}:{c.subject}": c for c in outcome.checks if c.check in ("canary", "gdpr")}
    assert {k: c.passed for k, c in compliance.items()} == {
        "canary:canary": True, "gdpr:erased before backup": False, "gdpr:erased after backup": True,
        "gdpr:erasure replay": True}, {k: c.message for k, c in compliance.items()}
    assert compliance["gdpr:erased before backup"].observed == 1
    assert compliance["gdpr:erased after backup"].observed == 1
    assert "ran for the 2 subjects found" in compliance["gdpr:erasure replay"].message
    record = json.dumps(outcome.as_evidence())
    assert "bob@" not in record and "alice@" not in record
