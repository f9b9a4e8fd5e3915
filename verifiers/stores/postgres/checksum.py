"""The checksum's SQL side (its definition and Python reference are in rowhash.py): which row hash a table
gets, the pinned session settings, and the one-scan count + checksum query."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import psycopg
from psycopg import sql

from verifiers.stores.hash_ranges import HASH_BITS, HashSegments, segment_bits
from verifiers.stores.key_ranges import DEFAULT_SEGMENT_ROWS, KeyRanges, layout
from verifiers.stores.postgres.rowhash import RECORD_SEED, SESSION_SETTINGS, column_seed, format_checksum, null_hash

Method = Literal["columns", "record", "text"]  # "record" is read from manifests of checksum algorithm v2 only


def pin_session(conn: psycopg.Connection[Any]) -> None:
    """Pin the settings the checksum's text output depends on, for this transaction only."""
    for name, value in SESSION_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def hash_methods(conn: psycopg.Connection[Any], oids: list[int]) -> dict[int, Method]:
    """The row hash a capture gives each table: "columns" on PostgreSQL 14+, "text" before."""
    row = conn.execute("SELECT current_setting('server_version_num')::int >= 140000").fetchone()
    method: Method = "columns" if row is not None and row[0] else "text"
    return dict.fromkeys(oids, method)


# The "columns" method's hash of one value of each scalar type: the type's own extended hash function (the one
# hash partitioning uses, so its result cannot change across majors); {} is the value. Text types are hashed
# under the "C" collation, so a nondeterministic collation cannot make two different strings hash alike.
_SCALAR_HASH = {
    "int2": "hashint2extended({}", "int4": "hashint4extended({}", "int8": "hashint8extended({}",
    "oid": "hashoidextended({}", "float4": "hashfloat4extended({}", "float8": "hashfloat8extended({}",
    "numeric": "hash_numeric_extended({}", "uuid": "uuid_hash_extended({}", "time": "time_hash_extended({}",
    "timestamp": "timestamp_hash_extended({}", "interval": "interval_hash_extended({}",
    "inet": "hashinetextended({}", "cidr": "hashinetextended({}", "macaddr": "hashmacaddrextended({}",
    "text": 'hashtextextended({} COLLATE "C"', "varchar": 'hashtextextended({} COLLATE "C"',
    "bpchar": 'hashbpcharextended({} COLLATE "C"', "name": 'hashnameextended({} COLLATE "C"',
    "char": "hashcharextended({}",
}
# Types whose hash function has its own SQL name only on newer majors (PostgreSQL 14/15 hash them with
# hashcharextended, hashvarlenaextended, hashint4extended and timestamp_hash_extended, which SQL cannot call
# on them): the native function where the server has it, else the same result reached another way — bool as
# its int4 0/1, timestamptz as the same instant without zone, bytea and date as a one-column record (whose hash
# is exactly its column's, 0 * 31 + hash; a record of one NULL is not NULL, so NULL is kept explicitly).
# tests/integration/test_rowhash_sql.py proves each pair equal.
NATIVE_HASH = {
    "bool": "hashboolextended(boolean,bigint)", "bytea": "hashbyteaextended(bytea,bigint)",
    "date": "hashdateextended(date,bigint)", "timestamptz": "timestamptz_hash_extended(timestamptz,bigint)",
}
PORTABLE_HASH = {
    "bool": "hashint4extended({0}::int4, {1})",
    "bytea": "(CASE WHEN {0} IS NOT NULL THEN hash_record_extended(ROW({0}::bytea), {1}) END)",
    "date": "(CASE WHEN {0} IS NOT NULL THEN hash_record_extended(ROW({0}::date), {1}) END)",
    "timestamptz": "timestamp_hash_extended({0} AT TIME ZONE 'UTC', {1})",
}
NATIVE_SQL = "SELECT coalesce(array_agg(f), '{}') FROM unnest(%s::text[]) f WHERE to_regprocedure(f) IS NOT NULL"

COLUMNS_SQL = """
SELECT a.attname, bt.typname, bt.typtype, bt.typnamespace = 'pg_catalog'::regnamespace
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def column_hash_sql(column: str, type_name: str, type_kind: str, in_catalog: bool, position: int,
                    native: frozenset[str] = frozenset()) -> sql.Composed:
    """One column's term of the "columns" row hash: its value's hash seeded by its position, NULL as a constant.
    `native`: the NATIVE_HASH functions the server has."""
    ref = sql.Identifier("_restoreproof_row", column)
    seed = sql.Literal(column_seed(position))
    scalar = in_catalog and type_kind == "b"
    if scalar and type_name in _SCALAR_HASH:
        term = sql.SQL(_SCALAR_HASH[type_name] + ", {})").format(ref, seed)
    elif scalar and type_name in NATIVE_HASH and NATIVE_HASH[type_name] in native:
        term = sql.SQL(NATIVE_HASH[type_name].partition("(")[0] + "({}, {})").format(ref, seed)
    elif scalar and type_name in PORTABLE_HASH:
        term = sql.SQL(PORTABLE_HASH[type_name]).format(ref, seed)
    else:  # enums (their hash is of the label's OID, which a restore renumbers), jsonb, arrays, json, ...
        term = sql.SQL("hashtextextended({}::text, {})").format(ref, seed)
    return sql.SQL("coalesce({}, {})").format(term, sql.Literal(null_hash(position)))


def row_hash_sql(conn: psycopg.Connection[Any], schema: str, table: str, method: Method) -> sql.Composable:
    if method == "record":
        return sql.SQL(f"hash_record_extended(_restoreproof_row, {RECORD_SEED})")
    if method == "text":
        return sql.SQL("hashtextextended((_restoreproof_row.*)::text, 0)")
    columns = conn.execute(COLUMNS_SQL, (sql.Identifier(schema, table).as_string(conn),)).fetchall()
    found = conn.execute(NATIVE_SQL, (list(NATIVE_HASH.values()),)).fetchone()
    native = frozenset(found[0] if found else ())
    terms = [column_hash_sql(name, type_name, kind, catalog, position, native)
             for position, (name, type_name, kind, catalog) in enumerate(columns, start=1)]
    return sql.SQL("({})").format(sql.SQL(" # ").join(terms)) if terms else sql.SQL("0::int8")


def table_checksum(conn: psycopg.Connection[Any], schema: str, table: str, method: Method = "text", *,
                   where: str | None = None) -> tuple[int, str]:
    """Row count and checksum in one scan; only numbers leave the server. `where` (the live reference's stable
    rows, live.py) limits the checksum to the rows it selects; the count stays of every row."""
    only = sql.SQL("") if where is None else sql.SQL(" FILTER (WHERE {})").format(sql.SQL(where))
    query = sql.SQL(  # without `where` the two count(*) are one aggregate to the server
        "SELECT count(*), coalesce(sum({h}){f}, 0), count(*){f} FROM ONLY {t} AS _restoreproof_row"
    ).format(h=row_hash_sql(conn, schema, table, method), f=only, t=sql.Identifier(schema, table))
    result = conn.execute(query).fetchone()
    assert result is not None
    rows, total, hashed = (int(value) for value in result)
    return rows, format_checksum(total + hashed)  # sum of (hash + 1): see rowhash.combine


def row_count(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    found = conn.execute(sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(schema, table))).fetchone()
    assert found is not None
    return int(found[0])



INTEGER_KEY_SQL = """
SELECT a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s::regclass AND i.indisprimary AND i.indnatts = 1
  AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
"""


def key_ranges(conn: psycopg.Connection[Any], schema: str, table: str, method: Method, *,
               like: KeyRanges | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS) -> KeyRanges | None:
    """Rows and checksum per range of the table's single-column integer primary key, in one scan; `like`
    reuses a manifest's key and bounds so the ranges line up with the captured ones, else the ranges hold about
    `segment_rows` rows each by the planner's row estimate. None when the table has no such key (or is empty
    at capture), or not `like`'s (a restore whose key was dropped or renamed is not narrowed by it);
    some_key_ranges measures a few of them. Without `like` (a capture) call it inside one snapshot (REPEATABLE
    READ, as capture does): the bounds read first must hold every key the scan then sees."""
    key = integer_key(conn, schema, table)
    if key is None or (like is not None and like.key != key):
        return None
    if like is None:
        bounds = conn.execute(sql.SQL("SELECT min({k}), max({k}) FROM ONLY {t}").format(
            k=sql.Identifier(key), t=sql.Identifier(schema, table))).fetchone()
        if bounds is None or bounds[0] is None:
            return None
        like = layout(key, estimated_rows(conn, schema, table), int(bounds[0]), int(bounds[1]), segment_rows)
        captured = True  # every key is within low..high in this snapshot: no open-ended ranges to sort out
    else:
        captured = False
    span = like.high + 1 - like.low
    width = span // like.buckets
    if captured and span < 1 << 62 and width & (width - 1) == 0:
        # a capture's grid: power-of-two widths from low, so a key's range is a shift (15% under the division
        # and its CASE in bench/run.py, on the scan every capture makes)
        bucket = sql.SQL("(({k}::int8 - {low}) >> {shift}) + 1")
    elif span * like.buckets < 1 << 62:
        # width_bucket's ranges in int8 arithmetic (no overflow below 2^62): the numeric width_bucket and its
        # numeric GROUP BY made this scan 2.4-3.9x the whole-table checksum in bench/run.py; this is the same
        # bucket, floor((key - low) * buckets / span) + 1 for low <= key <= high
        bucket = sql.SQL("CASE WHEN {k} < {low} THEN 0 WHEN {k} > {high} THEN {above} "
                         "ELSE ({k}::int8 - {low}) * {n} / {span} + 1 END")
    else:  # the same in numeric, with div()'s exact integer quotient (width_bucket's numeric division rounds,
        # which put a key just under the top of a range of 2^63 keys into the next one)
        bucket = sql.SQL("CASE WHEN {k} < {low} THEN 0 WHEN {k} > {high} THEN {above} "
                         "ELSE div(({k}::numeric - {low}) * {n}, {span}::numeric) + 1 END")
    # Grouped by the bucket number of a generate_series joined on, not by the key's expression: the planner
    # estimates a group per distinct key for an expression of the key, so it will not aggregate in parallel
    # workers (2.2x the whole-table checksum, which runs in parallel, in bench/run.py), while for the series it
    # knows there are `buckets` + 2 groups and plans a parallel hash join under a partial hash aggregate (about
    # 1.5x). Every row joins exactly one bucket: 0 and buckets + 1 take the keys outside low..high.
    query = sql.SQL(
        "SELECT _restoreproof_bucket.b, count(*), coalesce(sum({h}), 0) "
        "FROM generate_series(0, {above}) AS _restoreproof_bucket(b) "
        "JOIN ONLY {t} AS _restoreproof_row ON _restoreproof_bucket.b = {bucket} GROUP BY 1"
    ).format(bucket=bucket.format(k=sql.Identifier("_restoreproof_row", like.key), low=sql.Literal(like.low),
                                  high=sql.Literal(like.high), above=sql.Literal(like.buckets + 1),
                                  n=sql.Literal(like.buckets), span=sql.Literal(span),
                                  shift=sql.Literal(width.bit_length() - 1)),
             above=sql.Literal(like.buckets + 1), t=sql.Identifier(schema, table),
             h=row_hash_sql(conn, schema, table, method))
    with hash_plans(conn):
        ranges = {int(b): (int(n), format_checksum(int(total) + int(n))) for b, n, total in conn.execute(query)}
    return like.model_copy(update={"ranges": ranges})


@contextlib.contextmanager
def hash_plans(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """For a grouped checksum query: a sort (every row sorted by bucket, on disk) or a merge join still looks
    cheaper to the planner than the hash join and hash aggregate that hold a few thousand buckets, so both are
    off for the block, in the transaction only, and back as they were after it (a failed query leaves an
    aborted transaction, whose end reverts them anyway)."""
    saved = conn.execute("SELECT current_setting('enable_sort'), current_setting('enable_mergejoin')").fetchone()
    conn.execute("SELECT set_config('enable_sort', 'off', true), set_config('enable_mergejoin', 'off', true)")
    yield
    conn.execute("SELECT set_config('enable_sort', %s, true), set_config('enable_mergejoin', %s, true)",
                 saved if saved else ("on", "on"))


def integer_key(conn: psycopg.Connection[Any], schema: str, table: str) -> str | None:
    """The table's primary key column when it is one column of an integer type."""
    found = conn.execute(INTEGER_KEY_SQL, (sql.Identifier(schema, table).as_string(conn),)).fetchone()
    return None if found is None else str(found[0])


def estimated_rows(conn: psycopg.Connection[Any], schema: str, table: str) -> int | None:
    """The planner's row estimate scaled to the table's current size, as the planner itself does (a table that
    grew since it was last analysed is not cut into a few huge ranges); None when never analysed."""
    found = conn.execute(
        "SELECT CASE WHEN relpages > 0 THEN reltuples / relpages * "
        "(pg_relation_size(oid) / current_setting('block_size')::int8) ELSE reltuples END "
        "FROM pg_class WHERE oid = %s::regclass", (sql.Identifier(schema, table).as_string(conn),)).fetchone()
    return int(found[0]) if found and found[0] is not None and found[0] > 0 else None


INT8 = (-(1 << 63), (1 << 63) - 1)


def some_key_ranges(conn: psycopg.Connection[Any], schema: str, table: str, method: Method, like: KeyRanges,
                    only: Sequence[int]) -> KeyRanges | None:
    """Rows and checksum of the captured ranges `only` (a sample, verifiers/stores/sampling.py): a scan of the
    key's index bounded to each range, so the rows of the other ranges are never read. None when the restored
    table's integer key is not `like`'s."""
    if integer_key(conn, schema, table) != like.key:
        return None
    wanted, low, high = [], [], []
    for bucket in only:  # bounds clamped to int8; a range wholly outside it holds no rows and is not read
        first, last = like.bounds(bucket)
        first, last = max(INT8[0], INT8[0] if first is None else first), min(INT8[1], INT8[1] if last is None else last)
        if first <= last:
            wanted.append(bucket)
            low.append(first)
            high.append(last)
    query = sql.SQL(
        "SELECT _restoreproof_bucket.b, count(*), coalesce(sum({h}), 0) "
        "FROM unnest(%s::int4[], %s::int8[], %s::int8[]) AS _restoreproof_bucket(b, low, high) "
        "JOIN ONLY {t} AS _restoreproof_row "
        "ON {k} BETWEEN _restoreproof_bucket.low AND _restoreproof_bucket.high GROUP BY 1"
    ).format(h=row_hash_sql(conn, schema, table, method), t=sql.Identifier(schema, table),
             k=sql.Identifier("_restoreproof_row", like.key))
    found = conn.execute(query, (wanted, low, high))
    ranges = {int(b): (int(n), format_checksum(int(total) + int(n))) for b, n, total in found}
    return like.model_copy(update={"ranges": ranges})


KEY_COLUMNS_SQL = """
SELECT a.attname
FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass AND i.indisprimary
ORDER BY k.position
"""
ROW_HASH_LABEL, KEY_HASH_LABEL = "row-hash", "key-hash"


def hash_key(conn: psycopg.Connection[Any], schema: str, table: str) -> tuple[str, sql.Composable]:
    """What a table without a single-column integer key is segmented by, as (algorithm, 64-bit hash SQL): its
    primary key's columns (any types, composite too), or the whole row when it has none. The algorithm names
    the columns, so a restore whose key differs is never narrowed against ranges cut by another."""
    columns = [str(r[0]) for r in conn.execute(KEY_COLUMNS_SQL, (sql.Identifier(schema, table).as_string(conn),))]
    if not columns:
        return (f"{ROW_HASH_LABEL}: hashtextextended(row::text, 0), PostgreSQL, v1",
                sql.SQL("hashtextextended((_restoreproof_row.*)::text, 0)"))
    key = sql.SQL("hashtextextended(ROW({})::text, 0)").format(
        sql.SQL(", ").join(sql.Identifier("_restoreproof_row", c) for c in columns))
    return f"{KEY_HASH_LABEL}: hashtextextended(ROW({', '.join(columns)})::text, 0), PostgreSQL, v1", key


def key_hashes(conn: psycopg.Connection[Any], schema: str, table: str, method: Method, *,
               like: HashSegments | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS) -> HashSegments | None:
    """Rows and checksum per key-hash segment (verifiers/stores/hash_ranges.py) of a table without a
    single-column integer key, in one scan: the top bits of a 64-bit hash of its primary key (or, without one,
    of its row) pick the segment. `like` cuts them as a manifest's were; else about `segment_rows` rows each by
    the planner's estimate. None when `like` was hashed by other key columns (the restore's key differs)."""
    algorithm, key = hash_key(conn, schema, table)
    if like is not None and like.algorithm != algorithm:
        return None
    if like is None:
        estimate = estimated_rows(conn, schema, table)
        rows = estimate if estimate is not None else row_count(conn, schema, table)  # never analysed: count
        bits = segment_bits(rows, segment_rows)
    else:
        bits = like.bits
    # the hash's top `bits` bits, unsigned: an arithmetic shift keeps the sign, the mask drops it
    segment = (sql.SQL("0") if bits == 0 else
               sql.SQL("({} >> {}) & {}").format(key, sql.Literal(HASH_BITS - bits), sql.Literal((1 << bits) - 1)))
    query = sql.SQL(  # grouped by a joined series, as key_ranges is, for a parallel plan
        "SELECT _restoreproof_bucket.b, count(*), coalesce(sum({h}), 0) "
        "FROM generate_series(0, {last}::int8) AS _restoreproof_bucket(b) "
        "JOIN ONLY {t} AS _restoreproof_row ON _restoreproof_bucket.b = {segment} GROUP BY 1"
    ).format(h=row_hash_sql(conn, schema, table, method), last=sql.Literal((1 << bits) - 1),
             t=sql.Identifier(schema, table), segment=segment)
    with hash_plans(conn):
        segments = {int(b): (int(n), format_checksum(int(total) + int(n))) for b, n, total in conn.execute(query)}
    return HashSegments(algorithm=algorithm, bits=bits, segments=dict(sorted(segments.items())))
