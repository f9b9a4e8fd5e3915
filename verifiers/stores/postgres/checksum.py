"""The checksum's SQL side (its definition and Python reference are in rowhash.py): which row hash a table
gets, the pinned session settings, and the one-scan count + checksum query."""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from psycopg import sql

from verifiers.stores.postgres.facts import KeyRanges
from verifiers.stores.postgres.rowhash import RECORD_SEED, SESSION_SETTINGS, format_checksum

Method = Literal["record", "text"]

# Scalar types whose extended hash is a full-strength, version-stable hash of the value (see rowhash.py):
# a table whose every column (domains resolved) is one of these, or an enum, is hashed with
# hash_record_extended; any other type (jsonb, arrays, json, money, geometric, composite, ranges...) sends
# the whole table to the text method.
RECORD_HASHABLE = (
    "int2", "int4", "int8", "oid", "text", "varchar", "bpchar", "name", "char", "bool", "bytea", "uuid",
    "date", "time", "timestamp", "timestamptz", "interval", "float4", "float8", "numeric",
    "inet", "cidr", "macaddr",
)

METHODS_SQL = """
WITH cols AS (
    SELECT a.attrelid,
           coalesce(nullif(t.typbasetype, 0), t.oid) AS base,
           co.collprovider IS NOT NULL AND NOT co.collisdeterministic AS nondeterministic
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_collation co ON co.oid = a.attcollation
    WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
), resolved AS (
    SELECT c.attrelid, c.nondeterministic, bt.typtype, bt.oid AS scalar
    FROM cols c JOIN pg_type bt ON bt.oid = c.base
)
SELECT r.attrelid,
       current_setting('server_version_num')::int >= 140000
       AND bool_and(NOT r.nondeterministic AND r.typtype <> 'd'
                    AND (st.typtype = 'e' OR (st.typnamespace = 'pg_catalog'::regnamespace
                                              AND st.typname = ANY(%(hashable)s))))
FROM resolved r JOIN pg_type st ON st.oid = r.scalar
GROUP BY r.attrelid
"""


def pin_session(conn: psycopg.Connection[Any]) -> None:
    """Pin the settings the checksum's text output depends on, for this transaction only."""
    for name, value in SESSION_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def hash_methods(conn: psycopg.Connection[Any], oids: list[int]) -> dict[int, Method]:
    rows = conn.execute(METHODS_SQL, {"oids": oids, "hashable": list(RECORD_HASHABLE)}).fetchall()
    return {oid: "record" if record else "text" for oid, record in rows}


_ROW_HASH = {
    "record": f"hash_record_extended(_restoreproof_row, {RECORD_SEED})",
    "text": "hashtextextended((_restoreproof_row.*)::text, 0)",
}


def table_checksum(conn: psycopg.Connection[Any], schema: str, table: str,
                   method: Method = "text") -> tuple[int, str]:
    """Row count and checksum in one scan; only two numbers leave the server."""
    query = sql.SQL(
        "SELECT count(*), coalesce(sum(" + _ROW_HASH[method] + "), 0) FROM ONLY {} AS _restoreproof_row"
    ).format(sql.Identifier(schema, table))
    result = conn.execute(query).fetchone()
    assert result is not None
    rows = int(result[0])
    return rows, format_checksum(int(result[1]) + rows)  # sum of (hash + 1): see rowhash.combine


RANGE_BUCKETS = 64

INTEGER_KEY_SQL = """
SELECT a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s::regclass AND i.indisprimary AND i.indnatts = 1
  AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
"""


def key_ranges(conn: psycopg.Connection[Any], schema: str, table: str, method: Method, *,
               like: KeyRanges | None = None) -> KeyRanges | None:
    """Rows and checksum per range of the table's single-column integer primary key, in one scan; `like`
    reuses a manifest's key and bounds so the ranges line up with the captured ones. None when the table
    has no such key (or is empty at capture)."""
    if like is None:
        found = conn.execute(INTEGER_KEY_SQL, (sql.Identifier(schema, table).as_string(conn),)).fetchone()
        if found is None:
            return None
        key = str(found[0])
        bounds = conn.execute(sql.SQL("SELECT min({k}), max({k}) FROM ONLY {t}").format(
            k=sql.Identifier(key), t=sql.Identifier(schema, table))).fetchone()
        if bounds is None or bounds[0] is None:
            return None
        like = KeyRanges(key=key, low=int(bounds[0]), high=int(bounds[1]), buckets=RANGE_BUCKETS, ranges={})
    query = sql.SQL(
        "SELECT width_bucket({k}::numeric, {low}, {high}, {n}), count(*), coalesce(sum(" + _ROW_HASH[method]
        + "), 0) FROM ONLY {t} AS _restoreproof_row GROUP BY 1"
    ).format(k=sql.Identifier(like.key), t=sql.Identifier(schema, table), low=sql.Literal(like.low),
             high=sql.Literal(like.high + 1), n=sql.Literal(like.buckets))
    ranges = {int(b): (int(n), format_checksum(int(total) + int(n))) for b, n, total in conn.execute(query)}
    return like.model_copy(update={"ranges": ranges})


def differing_ranges(captured: KeyRanges, restored: KeyRanges) -> list[tuple[int | None, int | None, int, int]]:
    """(first key, last key, rows restored, rows captured) of every range whose rows differ."""
    out = []
    for bucket in sorted(set(captured.ranges) | set(restored.ranges)):
        want, got = captured.ranges.get(bucket, (0, "")), restored.ranges.get(bucket, (0, ""))
        if want != got:
            first, last = captured.bounds(bucket)
            out.append((first, last, got[0], want[0]))
    return out
