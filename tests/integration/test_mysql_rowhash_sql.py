"""The MySQL checksum's SQL agrees with its pure-Python reference on a real MariaDB, and keeps its promises
there: order independence, duplicates counted, NULL distinct from '', any single changed value changing it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.stores.mysql.local_server import MysqlServer
from verifiers.stores.mysql.measure import pin_session
from verifiers.stores.mysql.rowhash import canonical_sql, checksum_rows, format_checksum, table_checksum_sql

pytestmark = pytest.mark.mysql
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DATABASE = "rowhash_test"
COLUMNS = [("n", "bigint"), ("t", "varchar"), ("f", "double"), ("b", "varbinary")]
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
cells = [st.integers(-2**63, 2**63 - 1), texts, st.floats(allow_nan=False, allow_infinity=False),
         st.binary(max_size=40)]
rows = st.lists(st.tuples(*(st.one_of(st.none(), c) for c in cells)), max_size=25)


@pytest.fixture(scope="module")
def cur(mysql_source: MysqlServer) -> Iterator[Cursor]:
    conn: Connection[Cursor] = mysql_source.connect()
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
        cursor.execute(f"USE {DATABASE}")
        try:
            yield cursor
        finally:
            cursor.execute(f"DROP DATABASE {DATABASE}")
    conn.close()


def load(cur: Cursor, name: str, data: list[tuple[Any, ...]]) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {name}")
    cur.execute(f"CREATE TABLE {name} (n BIGINT, t VARCHAR(100) CHARACTER SET utf8mb4, f DOUBLE, b VARBINARY(50))")
    cur.executemany(f"INSERT INTO {name} VALUES (%s, %s, %s, %s)", data)  # noqa: S608 - test table names


def sql_checksum(cur: Cursor, name: str) -> str:
    pin_session(cur)
    cur.execute(table_checksum_sql(DATABASE, name, COLUMNS))
    row = cur.fetchone()
    assert row is not None
    return format_checksum(int(row[1]))


def reference_checksum(cur: Cursor, name: str, data: list[tuple[Any, ...]]) -> str:
    """The reference, fed the canonical values the server makes (which only tests fetch), after checking them
    against what the definition says they are for these types."""
    pin_session(cur)
    exprs = ", ".join(canonical_sql(column, kind) for column, kind in COLUMNS)
    cur.execute(f"SELECT {exprs} FROM {name}")  # noqa: S608 - test table names
    fetched = [tuple(_bytes(v) for v in row) for row in cur.fetchall()]
    # Integers as decimal text, strings as UTF-8, bytes as they are; DOUBLE as text that reads back exactly.
    # A -0.0 parameter arrives as the literal `-0.0`, which the server reads as minus a decimal zero: 0 is stored.
    expected = sorted(_key((_bytes(None if n is None else str(n)), _bytes(t), None if f is None else f + 0.0, b))
                      for n, t, f, b in data)
    got = sorted(_key((n, t, None if f is None else float(f), b)) for n, t, f, b in fetched)
    assert got == expected
    return checksum_rows(fetched)


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Sortable with NULLs, and -0.0 kept apart from 0.0."""
    return tuple((v is None, repr(v) if isinstance(v, float) else v or b"") for v in row)


def _bytes(value: Any) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


@FAST
@given(data=rows)
def test_sql_checksum_equals_reference_in_any_order(cur: Cursor, data: list[tuple[Any, ...]]) -> None:
    load(cur, "a", data)
    shuffled = list(data)
    random.Random(len(data)).shuffle(shuffled)
    load(cur, "b", shuffled)
    assert sql_checksum(cur, "a") == reference_checksum(cur, "a", data) == sql_checksum(cur, "b")


@FAST
@given(data=rows.filter(bool), which=st.integers(0, 10**6), column=st.integers(0, 3), new=st.data())
def test_any_single_changed_value_changes_the_checksum(cur: Cursor, data: list[tuple[Any, ...]], which: int,
                                                       column: int, new: st.DataObject) -> None:
    index = which % len(data)
    old = data[index][column]
    replacement = new.draw(st.one_of(st.none(), cells[column]).filter(lambda v: v != old))
    changed = list(data)
    changed[index] = tuple(replacement if i == column else v for i, v in enumerate(data[index]))
    load(cur, "a", data)
    load(cur, "b", changed)
    assert sql_checksum(cur, "a") != sql_checksum(cur, "b")


def test_duplicates_count_and_null_differs_from_empty(cur: Cursor) -> None:
    load(cur, "a", [(1, "x", None, None)])
    load(cur, "b", [(1, "x", None, None), (1, "x", None, None)])
    assert sql_checksum(cur, "a") != sql_checksum(cur, "b")
    load(cur, "a", [(1, None, None, b"")])
    load(cur, "b", [(1, "", None, b"")])
    assert sql_checksum(cur, "a") != sql_checksum(cur, "b")
    load(cur, "b", [(1, None, None, None)])
    assert sql_checksum(cur, "a") != sql_checksum(cur, "b")
