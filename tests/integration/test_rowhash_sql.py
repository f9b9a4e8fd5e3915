"""The checksum's SQL agrees with its pure-Python reference, and has the properties it promises:
order independence, duplicates counted, and any single changed value changing the result."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from verifiers.sandboxes.local_postgres import PostgresServer
from verifiers.stores.postgres.measure import pin_session, table_checksum
from verifiers.stores.postgres.rowhash import checksum_rows, hash_bytes_extended, row_hash

pytestmark = pytest.mark.postgres
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
texts = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=80)
rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), st.one_of(st.none(), texts),
                          st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))),
                max_size=30)


@pytest.fixture(scope="module")
def conn(source_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(source_server.conninfo(), autocommit=True) as connection:
        yield connection


def load(conn: psycopg.Connection[Any], name: str, data: list[tuple[Any, ...]]) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TABLE {} (n bigint, t text, f double precision)").format(sql.Identifier(name)))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))) as copy:
        for row in data:
            copy.write_row(row)


def sql_checksum(conn: psycopg.Connection[Any], name: str) -> str:
    with conn.transaction():
        pin_session(conn)
        return table_checksum(conn, "public", name)[1]


def reference_checksum(conn: psycopg.Connection[Any], name: str) -> str:
    """The reference, fed the rows' text output (which only tests may fetch)."""
    with conn.transaction():
        pin_session(conn)
        query = sql.SQL("SELECT (r.*)::text FROM public.{} r").format(sql.Identifier(name))
        row_texts = [r[0] for r in conn.execute(query)]
    return checksum_rows(row_texts)


@FAST
@given(value=texts)
def test_python_hash_equals_hashtextextended(conn: psycopg.Connection[Any], value: str) -> None:
    row = conn.execute("SELECT hashtextextended(%s, 0)", (value,)).fetchone()
    assert row is not None and row[0] == row_hash(value)


@FAST
@given(data=st.binary(max_size=64).filter(lambda b: b"\x00" not in b), seed=st.integers(0, 2**63 - 1))
def test_seeded_hash_equals_the_server(conn: psycopg.Connection[Any], data: bytes, seed: int) -> None:
    text = data.decode("latin-1")
    row = conn.execute("SELECT hashtextextended(%s, %s)", (text, seed)).fetchone()
    assert row is not None and row[0] == hash_bytes_extended(text.encode("utf-8"), seed)


@FAST
@given(data=rows)
def test_sql_checksum_equals_reference_in_any_order(conn: psycopg.Connection[Any],
                                                    data: list[tuple[Any, ...]]) -> None:
    load(conn, "a", data)
    shuffled = list(data)
    random.Random(len(data)).shuffle(shuffled)
    load(conn, "b", shuffled)
    assert sql_checksum(conn, "a") == reference_checksum(conn, "a") == sql_checksum(conn, "b")


@FAST
@given(data=rows.filter(bool), which=st.integers(0, 10**6), column=st.integers(0, 2), new=st.data())
def test_any_single_changed_value_changes_the_checksum(conn: psycopg.Connection[Any], data: list[tuple[Any, ...]],
                                                       which: int, column: int, new: st.DataObject) -> None:
    index = which % len(data)
    strategy = [st.integers(-2**63, 2**63 - 1), texts, st.floats(allow_nan=False, allow_infinity=False)][column]
    replacement = new.draw(st.one_of(st.none(), strategy).filter(lambda v: v != data[index][column]))
    if isinstance(replacement, float) and data[index][column] == replacement:  # -0.0 == 0.0
        return
    changed = list(data)
    row = list(changed[index])
    row[column] = replacement
    changed[index] = tuple(row)
    load(conn, "a", data)
    load(conn, "b", changed)
    assert sql_checksum(conn, "a") != sql_checksum(conn, "b")


def test_duplicates_count_and_null_differs_from_empty(conn: psycopg.Connection[Any]) -> None:
    load(conn, "a", [(1, "x", None)])
    load(conn, "b", [(1, "x", None), (1, "x", None)])
    assert sql_checksum(conn, "a") != sql_checksum(conn, "b")
    load(conn, "a", [(1, None, None)])
    load(conn, "b", [(1, "", None)])
    assert sql_checksum(conn, "a") != sql_checksum(conn, "b")
