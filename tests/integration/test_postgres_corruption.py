"""amcheck after a restore (issue 21, corruption checks): a sound restore passes with every B-tree index checked,
a corrupt index fails the check by name (never with row values), and an index left unchecked by the time budget
or a server without the extension's rights is "not compared" (recorded, claiming nothing), never a pass."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.conftest import CORRUPT_INDEX_SQL, failed, verify
from verifiers.stores.postgres import corruption
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = pytest.mark.postgres

def test_a_sound_restore_passes_with_every_index_checked(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", amcheck=True)
    assert outcome.status == "passed", failed(outcome)
    [check] = [c for c in outcome.checks if c.check == corruption.CHECK]
    assert check.passed and check.compared
    match = re.fullmatch(r"0 corrupt of (\d+) checked", str(check.observed))
    assert match and int(match.group(1)) >= 6, check.observed  # the demo's primary keys and indexes at least
    assert "amcheck (bt_index_check, heapallindexed)" in check.message


def test_off_by_default(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump")
    assert corruption.CHECK not in {c.check for c in outcome.checks}


def test_a_corrupt_index_fails_by_name_without_row_values(source_server: PostgresServer, scratch_db: str) -> None:
    conninfo = source_server.conninfo(scratch_db)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(CORRUPT_INDEX_SQL)
    result = corruption.check_indexes(conninfo, budget=120, store="saas")
    assert not result.passed and result.compared
    assert result.observed == "1 corrupt of 2 checked"
    assert re.search(r"public\.t_f \(SQLSTATE XX00[12]\)", result.message), result.message
    assert "t_x" not in result.message  # the sound index is not named
    assert "424242" not in result.message and "2000" not in result.message


def test_an_exhausted_budget_is_not_compared_never_a_pass(source_server: PostgresServer, scratch_db: str) -> None:
    conninfo = source_server.conninfo(scratch_db)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x integer PRIMARY KEY)")
    result = corruption.check_indexes(conninfo, budget=0.0, store="saas")
    assert not result.compared and result.expected is None  # not compared: no pass claimed, no criterion
    assert "checked 0 of 1 B-tree indexes" in result.message and "raise amcheck_budget" in result.message


def test_no_right_to_create_the_extension_is_not_compared(source_server: PostgresServer, scratch_db: str) -> None:
    with psycopg.connect(source_server.conninfo(scratch_db), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS amcheck_reader")
        conn.execute("CREATE ROLE amcheck_reader LOGIN")
    try:
        as_reader = make_conninfo(source_server.conninfo(scratch_db), user="amcheck_reader")
        result = corruption.check_indexes(as_reader, budget=60, store="saas")
        assert not result.compared and result.expected is None
        assert "SQLSTATE 42501" in result.message and "set amcheck = false" in result.message
    finally:
        with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch_db}" WITH (FORCE)')
            conn.execute("DROP ROLE IF EXISTS amcheck_reader")
