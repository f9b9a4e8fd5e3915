"""The MySQL / MariaDB row checksum, defined once, as SQL for the server and as a pure-Python reference.

Definition (algorithm `CHECKSUM_ALGORITHM`):

    token(v)    = 'N'                                  if v is NULL
                  'v' + hex(sha256(canonical(v)))      otherwise (lower-case hex, 64 digits)
    row_text(r) = token(c1) '|' token(c2) '|' ...      over every column, in ordinal order
    row_hash(r) = the first 64 bits of sha256(row_text(r)), as an unsigned big-endian integer
    checksum(t) = sum of row_hash over the rows of t, modulo 2**64, shown as 16 hex digits

- NULL vs '': `CONCAT_WS` skips NULLs, so every value is marked: NULL is `N`, '' is `v` + sha256(b'').
- Each value is hashed on its own, so a long value never builds a long string (a string function result over
  max_allowed_packet turns into NULL with only a warning), and no value can contain the `|` separator.
- Order independent (a sum), and duplicate rows count (unlike XOR). No GROUP_CONCAT (truncated at 1 KiB).
- canonical(v), by column type, is chosen so that equal data gives equal bytes on every server:
  * character strings, ENUM, SET, JSON-as-text (MariaDB): the stored bytes, in the column's character set;
  * binary strings, BLOBs, spatial types: the stored bytes;
  * BIT: the decimal text of its unsigned value;
  * everything else (integers, DECIMAL, FLOAT/DOUBLE, temporal types, MySQL's JSON, ...): the server's text
    form, `CAST(col AS CHAR)` — exact for integers and DECIMAL (scale kept: 1.50), shortest round-trip for
    DOUBLE and FLOAT, ISO temporal values with the column's fractional digits, TIMESTAMP in the pinned UTC
    session time zone (see `SESSION_SQL`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from verifiers.stores.key_ranges import KeyRanges

MOD64 = 1 << 64
CHECKSUM_ALGORITHM = "sum64(sha256(values as N | v+sha256(canonical))) v1"
SEPARATOR = "|"
NULL_TOKEN = "N"  # noqa: S105 - the NULL marker, not a password

RAW_TYPES = frozenset({
    "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set",
    "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
    "geometrycollection", "geomcollection",
})

# Session settings the canonical text depends on, pinned for every measuring connection.
SESSION_SQL = ("SET SESSION time_zone = '+00:00'", "SET NAMES utf8mb4")


def quote_identifier(name: str) -> str:
    """A MySQL identifier in backticks, with backticks doubled: the only way names enter our SQL."""
    if "\0" in name:
        raise ValueError("an identifier cannot contain NUL")
    return "`" + name.replace("`", "``") + "`"


def canonical_sql(column: str, data_type: str) -> str:
    """The SQL expression of canonical(v) for a column of `data_type` (information_schema DATA_TYPE)."""
    ident = quote_identifier(column)
    kind = data_type.lower()
    if kind in RAW_TYPES:
        return ident
    if kind == "bit":
        return f"CAST(CAST({ident} AS UNSIGNED) AS CHAR)"
    return f"CAST({ident} AS CHAR)"


def row_hash_sql(columns: Sequence[tuple[str, str]]) -> str:
    """The SQL expression of row_hash for (column, data_type) pairs, in ordinal order."""
    tokens = [f"COALESCE(CONCAT('v', SHA2({canonical_sql(name, kind)}, 256)), '{NULL_TOKEN}')"
              for name, kind in columns]
    return f"CAST(CONV(LEFT(SHA2(CONCAT_WS('{SEPARATOR}', {', '.join(tokens)}), 256), 16), 16, 10) AS UNSIGNED)"


def table_checksum_sql(database: str, table: str, columns: Sequence[tuple[str, str]]) -> str:
    """Row count and the (unreduced) sum of row hashes in one scan: only two numbers leave the server.
    SUM over BIGINT UNSIGNED is an exact DECIMAL; the caller reduces it modulo 2**64."""
    return (f"SELECT COUNT(*), COALESCE(SUM({row_hash_sql(columns)}), 0) "  # noqa: S608 - quoted identifiers only
            f"FROM {quote_identifier(database)}.{quote_identifier(table)}")


def key_ranges_sql(database: str, table: str, columns: Sequence[tuple[str, str]], like: KeyRanges) -> str:
    """Rows and the (unreduced) sum of row hashes per bucket of PostgreSQL's width_bucket(key, low, high + 1,
    buckets) (verifiers/stores/key_ranges.py), in one scan; the session's div_precision_increment must be 30."""
    key = quote_identifier(like.key)
    # literals in parentheses (a negative one after a minus is no `--` comment); the span computed here, not in
    # BIGINT arithmetic, which overflows for keys spanning most of its range
    bucket = (f"CASE WHEN {key} < ({like.low}) THEN 0 WHEN {key} > ({like.high}) THEN {like.buckets + 1} "
              f"ELSE FLOOR((CAST({key} AS DECIMAL(65, 0)) - ({like.low})) * {like.buckets} / "
              f"CAST({like.high + 1 - like.low} AS DECIMAL(65, 0))) + 1 END")
    return (f"SELECT {bucket} AS _restoreproof_bucket, COUNT(*), COALESCE(SUM({row_hash_sql(columns)}), 0) "  # noqa: S608
            f"FROM {quote_identifier(database)}.{quote_identifier(table)} GROUP BY _restoreproof_bucket")


def key_hashes_sql(database: str, table: str, columns: Sequence[tuple[str, str]], key: Sequence[tuple[str, str]],
                   bits: int) -> str:
    """Rows and the (unreduced) sum of row hashes per segment: the top `bits` bits of the row hash of the `key`
    columns (verifiers/stores/hash_ranges.py), in one scan."""
    segment = "0" if bits == 0 else f"({row_hash_sql(key)} >> {64 - bits})"
    return (f"SELECT {segment} AS _restoreproof_segment, COUNT(*), COALESCE(SUM({row_hash_sql(columns)}), 0) "  # noqa: S608
            f"FROM {quote_identifier(database)}.{quote_identifier(table)} GROUP BY _restoreproof_segment")


# The pure-Python reference: fed canonical values (bytes, or None for NULL).

def token(canonical: bytes | None) -> str:
    return NULL_TOKEN if canonical is None else "v" + hashlib.sha256(canonical).hexdigest()


def row_hash(values: Sequence[bytes | None]) -> int:
    text = SEPARATOR.join(token(v) for v in values)
    return int(hashlib.sha256(text.encode("ascii")).hexdigest()[:16], 16)


def format_checksum(value: int) -> str:
    return f"{value % MOD64:016x}"


def checksum_rows(rows: Iterable[Sequence[bytes | None]]) -> str:
    """Reference checksum of a table from its rows' canonical values."""
    return format_checksum(sum(row_hash(r) for r in rows))
