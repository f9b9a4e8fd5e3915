"""The checksum's SQL agrees with its pure-Python reference, for every row-hash method, and has the
properties it promises: order independence, duplicates counted, any single changed value changes it."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from verifiers.stores.postgres.checksum import (
    NATIVE_HASH,
    NATIVE_SQL,
    PORTABLE_HASH,
    Method,
    hash_methods,
    pin_session,
    table_checksum,
)
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer, local_postgres
from verifiers.stores.postgres.parallel import Measured, TableJob, Workers, checksum_tables
from verifiers.stores.postgres.rowhash import (
    RECORD_SEED,
    checksum_rows,
    column_seed,
    columns_hash,
    combine,
    format_checksum,
    hash_bytes_extended,
    hash_int8_extended,
    hash_uint32_extended,
    record_hash,
    row_hash,
)

pytestmark = pytest.mark.postgres
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
texts = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=60)
int8s = st.integers(-2**63, 2**63 - 1)
int4s = st.integers(-2**31, 2**31 - 1)
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
COLUMNS = "n bigint, i integer, t text, b boolean, d date, ts timestamptz, by bytea, f double precision"
scalar_rows = st.lists(st.tuples(*(st.one_of(st.none(), s) for s in (
    int8s, int4s, texts, st.booleans(), dates, moments, st.binary(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False)))), max_size=25)


@pytest.fixture(scope="module")
def conn(source_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(source_server.conninfo(), autocommit=True) as connection:
        yield connection


def load(conn: psycopg.Connection[Any], name: str, columns: str, data: list[tuple[Any, ...]]) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TABLE {} (" + columns + ")").format(sql.Identifier(name)))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))) as copy:
        for row in data:
            copy.write_row(row)


def sql_checksum(conn: psycopg.Connection[Any], name: str, method: Method) -> str:
    with conn.transaction():
        pin_session(conn)
        return table_checksum(conn, "public", name, method)[1]


def column_hash(value: Any, kind: str, seed: int = RECORD_SEED) -> int | None:
    """hash_record_extended's per-type hash of one value, computed here from the Python value."""
    if value is None:
        return None
    if kind == "n":
        return hash_int8_extended(value, seed)
    if kind == "i":
        return hash_uint32_extended(value, seed)
    if kind == "t":
        return hash_bytes_extended(value.encode(), seed)
    if kind == "b":
        return hash_uint32_extended(int(value), seed)
    if kind == "d":
        return hash_uint32_extended((value - date(2000, 1, 1)).days, seed)
    if kind == "ts":
        delta = value - EPOCH
        return hash_int8_extended((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds, seed)
    if kind == "by":
        return hash_bytes_extended(bytes(value), seed)
    if kind == "f":
        return seed if value == 0 else hash_bytes_extended(struct.pack("<d", value), seed)
    raise AssertionError(kind)


def reference_record_checksum(data: list[tuple[Any, ...]]) -> str:
    kinds = ["n", "i", "t", "b", "d", "ts", "by", "f"]
    return format_checksum(combine(record_hash(column_hash(v, k) for v, k in zip(row, kinds, strict=True))
                                   for row in data))


def reference_columns_checksum(data: list[tuple[Any, ...]]) -> str:
    kinds = ["n", "i", "t", "b", "d", "ts", "by", "f"]
    return format_checksum(combine(
        columns_hash(column_hash(v, k, column_seed(i)) for i, (v, k) in enumerate(zip(row, kinds, strict=True), 1))
        for row in data))


def reference_text_checksum(conn: psycopg.Connection[Any], name: str) -> str:
    """The text method's reference, fed the rows' text output (which only tests may fetch)."""
    with conn.transaction():
        pin_session(conn)
        query = sql.SQL("SELECT (r.*)::text FROM public.{} r").format(sql.Identifier(name))
        row_texts = [r[0] for r in conn.execute(query)]
    return checksum_rows(row_texts)


@FAST
@given(value=texts)
def test_text_hash_equals_hashtextextended(conn: psycopg.Connection[Any], value: str) -> None:
    row = conn.execute("SELECT hashtextextended(%s, 0)", (value,)).fetchone()
    assert row is not None and row[0] == row_hash(value)


@FAST
@given(value=int8s, small=int4s, seed=st.integers(0, 2**63 - 1))
def test_integer_hashes_equal_the_server(conn: psycopg.Connection[Any], value: int, small: int, seed: int) -> None:
    row = conn.execute("SELECT hashint8extended(%s::int8, %s), hashint4extended(%s::int4, %s)",
                       (value, seed, small, seed)).fetchone()
    assert row == (hash_int8_extended(value, seed), hash_uint32_extended(small, seed))


@FAST
@given(data=st.binary(max_size=64).filter(lambda b: b"\x00" not in b), seed=st.integers(0, 2**63 - 1))
def test_seeded_text_hash_equals_the_server(conn: psycopg.Connection[Any], data: bytes, seed: int) -> None:
    text = data.decode("latin-1")
    row = conn.execute("SELECT hashtextextended(%s, %s)", (text, seed)).fetchone()
    assert row is not None and row[0] == hash_bytes_extended(text.encode("utf-8"), seed)


@FAST
@given(data=scalar_rows)
def test_every_method_equals_its_reference_in_any_order(conn: psycopg.Connection[Any],
                                                         data: list[tuple[Any, ...]]) -> None:
    load(conn, "a", COLUMNS, data)
    shuffled = list(data)
    random.Random(len(data)).shuffle(shuffled)
    load(conn, "b", COLUMNS, shuffled)
    assert (sql_checksum(conn, "a", "columns") == reference_columns_checksum(data)
            == sql_checksum(conn, "b", "columns"))
    assert sql_checksum(conn, "a", "record") == reference_record_checksum(data) == sql_checksum(conn, "b", "record")
    assert sql_checksum(conn, "a", "text") == reference_text_checksum(conn, "a") == sql_checksum(conn, "b", "text")


RICH = "n numeric, j jsonb, t text"  # "columns": jsonb through its text, numeric by its hash
rich_rows = st.lists(st.tuples(
    st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**9,
                                     max_value=10**9)),
    st.one_of(st.none(), st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | texts,
                                      lambda kids: st.lists(kids, max_size=3)
                                      | st.dictionaries(texts, kids, max_size=3), max_leaves=6)
              .map(lambda v: Jsonb(v))),
    st.one_of(st.none(), texts)), min_size=1, max_size=15)


@FAST
@given(data=rich_rows, which=st.integers(0, 10**6), column=st.integers(0, 2), new=st.data(),
       method=st.sampled_from(["columns", "record", "text"]))
def test_any_single_changed_value_changes_the_checksum(conn: psycopg.Connection[Any], data: list[tuple[Any, ...]],
                                                       which: int, column: int, new: st.DataObject,
                                                       method: Method) -> None:
    index = which % len(data)
    strategy = rich_rows.map(lambda rows: rows[0][column])
    if method == "record" and column == 1:
        method = "text"  # v2 never hashed a jsonb column by record (its hash confuses structures, see below)
    original = data[index][column]
    replacement = new.draw(strategy.filter(lambda v: _canonical(v) != _canonical(original)))
    changed = list(data)
    row = list(changed[index])
    row[column] = replacement
    changed[index] = tuple(row)
    load(conn, "a", RICH, data)
    load(conn, "b", RICH, changed)
    assert sql_checksum(conn, "a", method) != sql_checksum(conn, "b", method)


def _canonical(value: Any) -> Any:
    """Values the database holds as equal (1.0 == 1.00; jsonb key order) are not a change."""
    if isinstance(value, Jsonb):
        return json.dumps(value.obj, sort_keys=True)
    if value is not None and not isinstance(value, str):
        return value.normalize() if value != 0 else 0
    return value


def test_duplicates_count_and_null_differs_from_empty(conn: psycopg.Connection[Any]) -> None:
    for method in ("columns", "record", "text"):
        load(conn, "a", "n int, t text", [(1, "x")])
        load(conn, "b", "n int, t text", [(1, "x"), (1, "x")])
        assert sql_checksum(conn, "a", method) != sql_checksum(conn, "b", method)
        load(conn, "a", "n int, t text", [(1, None)])
        load(conn, "b", "n int, t text", [(1, "")])
        assert sql_checksum(conn, "a", method) != sql_checksum(conn, "b", method)


def oid_of(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute("SELECT %s::regclass::oid", (f"public.{name}",)).fetchone()
    assert row is not None
    return int(row[0])


def test_captures_hash_every_table_by_columns(conn: psycopg.Connection[Any]) -> None:
    tables = {"a": "n int, t text, e numeric, u uuid, ts timestamptz", "b": "n int, j jsonb",
              "c": "n int, arr text[]", "d": "n int, j json", "e": "n int, p point"}
    for name, columns in tables.items():
        load(conn, name, columns, [])
    oids = {name: oid_of(conn, name) for name in tables}
    assert hash_methods(conn, list(oids.values())) == dict.fromkeys(oids.values(), "columns")


@pytest.mark.parametrize(("one", "other"), [([], {}), ([[1], 2], [[1, 2]]), ({"a": "b"}, ["a", "b"])])
def test_jsonb_structures_that_its_hash_confuses_still_differ(conn: psycopg.Connection[Any], one: Any,
                                                              other: Any) -> None:
    """Why jsonb goes through text: jsonb_hash_extended gives '[]' and '{}' (and [[1],2] and [[1,2]]) one hash."""
    load(conn, "a", "j jsonb", [(Jsonb(one),)])
    load(conn, "b", "j jsonb", [(Jsonb(other),)])
    for method in ("columns", "text"):
        assert sql_checksum(conn, "a", method) != sql_checksum(conn, "b", method)


def test_a_value_moved_to_another_column_changes_the_checksum(conn: psycopg.Connection[Any]) -> None:
    load(conn, "a", "x int, y int, s text, t text", [(1, 2, "p", "q")])
    load(conn, "b", "x int, y int, s text, t text", [(2, 1, "p", "q")])
    load(conn, "c", "x int, y int, s text, t text", [(1, 2, "q", "p")])
    assert len({sql_checksum(conn, name, "columns") for name in "abc"}) == 3


def test_enum_columns_hash_by_label_not_by_oid(conn: psycopg.Connection[Any], source_server: PostgresServer) -> None:
    """A restore renumbers an enum's OIDs (pg_restore creates the type anew): "columns" hashes the label, so the
    checksum survives; v2's record method, which hashed the OID, would not."""
    sums: dict[str, dict[str, str]] = {}
    for database, filler in (("enum_a", ""), ("enum_b", "CREATE TYPE filler AS ENUM ('w', 'x', 'y', 'z');")):
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        with psycopg.connect(source_server.conninfo(database), autocommit=True) as other:
            if filler:
                other.execute(filler)
            other.execute("CREATE TYPE tier AS ENUM ('free', 'team')")
            other.execute("CREATE TABLE a (n int, t tier)")
            other.execute("INSERT INTO a VALUES (1, 'free'), (2, 'team'), (3, NULL)")
            sums[database] = {method: sql_checksum(other, "a", method) for method in ("columns", "record")}
    assert sums["enum_a"]["columns"] == sums["enum_b"]["columns"]
    assert sums["enum_a"]["record"] != sums["enum_b"]["record"]


def test_parallel_workers_match_one_connection_and_raise_errors(conn: psycopg.Connection[Any],
                                                                 source_server: PostgresServer) -> None:
    load(conn, "a", "n int, t text", [(i, str(i)) for i in range(500)])
    load(conn, "b", "n int, j jsonb", [(i, Jsonb({"i": i})) for i in range(300)])
    jobs = [TableJob("public.a", "public", "a", "columns"), TableJob("public.b", "public", "b", "text")]
    parallel = checksum_tables(Workers(source_server.conninfo(), count=2), jobs)
    assert parallel == {"public.a": Measured(500, sql_checksum(conn, "a", "columns")),
                        "public.b": Measured(300, sql_checksum(conn, "b", "text"))}
    with pytest.raises(psycopg.errors.UndefinedTable):
        checksum_tables(Workers(source_server.conninfo(), count=2),
                        [*jobs, TableJob("public.gone", "public", "gone", "text")])


@pytest.fixture(scope="module")
def newest_conn(newest_pg: PgInstallation) -> Iterator[psycopg.Connection[Any]]:
    with local_postgres(newest_pg) as server, psycopg.connect(server.conninfo(), autocommit=True) as connection:
        yield connection


TYPED = {"bool": st.booleans(), "bytea": st.binary(max_size=40), "date": dates, "timestamptz": moments}


@FAST
@given(values=st.fixed_dictionaries({k: st.one_of(st.none(), s) for k, s in TYPED.items()}),
       seed=st.integers(0, 2**63 - 1))
def test_native_and_portable_hashes_agree(newest_conn: psycopg.Connection[Any], values: dict[str, Any],
                                          seed: int) -> None:
    """bool, bytea, date and timestamptz have their own hash function only on newer majors; older servers reach
    the same value another way (checksum.PORTABLE_HASH). Both run on the newest server and must agree."""
    found = newest_conn.execute(NATIVE_SQL, (list(NATIVE_HASH.values()),)).fetchone()
    assert found is not None and sorted(found[0]) == sorted(NATIVE_HASH.values())  # else nothing is compared
    newest_conn.execute("SET TimeZone = 'America/New_York'")  # the portable timestamptz path must not depend on it
    for type_name, value in values.items():
        literal = sql.SQL("{}::{}").format(sql.Literal(value), sql.SQL(type_name))
        native = sql.SQL(NATIVE_HASH[type_name].partition("(")[0] + "({}, {})").format(literal, sql.Literal(seed))
        portable = sql.SQL(PORTABLE_HASH[type_name]).format(literal, sql.Literal(seed))
        row = newest_conn.execute(sql.SQL("SELECT {}, {}").format(native, portable)).fetchone()
        assert row is not None and row[0] == row[1], type_name
