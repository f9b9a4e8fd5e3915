"""CHECK TABLE after a MySQL / MariaDB restore (issue 21, corruption checks): a sound restore passes with every
table checked; a table whose data file was damaged on disk fails the check by name, never with the server's
message; an exhausted budget is "not compared", never a pass."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import failed
from tests.mysql_support import mysql_verify
from verifiers.stores.mysql import corruption
from verifiers.stores.mysql.local_server import MysqlServer

pytestmark = pytest.mark.mysql


@pytest.fixture
def scratch_db(mysql_source: MysqlServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own on the source server, dropped after the test."""
    name = "chk_" + re.sub(r"\W", "_", request.node.name)[:40].lower()
    conn = mysql_source.connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
    conn.close()
    yield name
    conn = mysql_source.connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def test_a_sound_restore_passes_with_every_table_checked(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql.gz", check_table=True)
    assert outcome.status == "passed", failed(outcome)
    [check] = [c for c in outcome.checks if c.check == corruption.CHECK]
    assert check.passed and check.compared
    match = re.fullmatch(r"0 corrupt of (\d+) checked", str(check.observed))
    assert match and int(match.group(1)) >= 5, check.observed
    assert check.message.startswith("CHECK TABLE found all ")


def test_a_damaged_table_fails_by_name_without_the_servers_message(mysql_source: MysqlServer,
                                                                   scratch_db: str) -> None:
    conn = mysql_source.connect(scratch_db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE sound (id INT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute("CREATE TABLE damaged (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=MyISAM")
        cur.executemany("INSERT INTO damaged VALUES (%s, %s)", [(i, f"value-{i:05d}") for i in range(2000)])
        cur.execute("FLUSH TABLES")
    conn.close()
    data = mysql_source.workdir / "data" / scratch_db / "damaged.MYD"
    with data.open("r+b") as fh:  # the data file loses its second half, as a torn copy would
        fh.truncate(data.stat().st_size // 2)
    result = corruption.check_tables(mysql_source.connect(scratch_db), scratch_db, budget=120, store="shop")
    assert not result.passed and result.compared, result.message
    assert result.observed == "1 corrupt of 2 checked"
    assert f"{scratch_db}.damaged (" in result.message and ".sound" not in result.message
    assert "value-" not in result.message and "Size of datafile" not in result.message


def test_an_exhausted_budget_is_not_compared(mysql_source: MysqlServer, scratch_db: str) -> None:
    conn = mysql_source.connect(scratch_db)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY)")
    conn.close()
    result = corruption.check_tables(mysql_source.connect(scratch_db), scratch_db, budget=0.0, store="shop")
    assert not result.compared and result.expected is None
    assert "checked 0 of 1 tables" in result.message and "raise check_table_budget" in result.message
