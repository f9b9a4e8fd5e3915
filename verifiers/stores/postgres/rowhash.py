"""The PostgreSQL row checksum, defined once, with a pure-Python reference implementation.

Definition: a table's checksum is the sum, modulo 2**64, of (row hash + 1) over its rows: a sum is
order-independent and, unlike XOR, keeps duplicate rows; the +1 makes a row whose hash is 0 still count. The
row hash's method is chosen per table at capture time and recorded in the manifest, so a restore is hashed the
same way:

- "columns" (checksum algorithm v3, PostgreSQL 14+): the XOR over the table's columns, in order, of each
  value's hash seeded by the column's position (`column_seed`), a NULL being `null_hash(position)`. A value of
  a scalar type (integers, text, bytea, bool, uuid, dates and times, floats, numeric, network types) is hashed
  in binary form by the type's own extended hash function, the one hash partitioning relies on, so it cannot
  change across major versions; anything else (jsonb, json, arrays, enums, composite, ranges, geometric...) is
  `hashtextextended(value::text, seed)` under the pinned `SESSION_SETTINGS`. jsonb and arrays go through text
  on purpose: their hash functions collide on structure ('[]' and '{}' hash alike, as do [[1],2] and [[1,2]]),
  fine for hash joins, not for integrity; enums too, since an enum's hash is of its label's OID, which a
  restore renumbers. Per-position seeds keep a value moved to another column from hashing alike. Only the
  text path pays for output functions, so a table of scalars checksums at about the cost of reading it.
- "text": `hashtextextended(row::text, 0)` (servers before 14): the record's text output under the pinned
  `SESSION_SETTINGS` (NULL is an empty field, '' is `""`).
- "record" (algorithm v2, read from older manifests only): `hash_record_extended(row, RECORD_SEED)`, column
  hashes combined as h = h*31 + column_hash (NULL = 0). Tables with enum columns may mismatch after a restore
  that renumbers the enum's OIDs: re-capture them with v3.

All rest on PostgreSQL's `hash_bytes_extended` / `hash_uint32_extended` (Bob Jenkins' lookup3, as adapted
in src/common/hashfn.c); the functions below mirror them for little-endian servers (x86-64, arm64), and
`columns_hash` / `record_hash` mirror the combinations, so the SQL is tested against this file. numeric and
the text path's output are computed by the server only (numeric's hash normalises the value first); tests
prove the properties (order independence, any changed value changes the sum) for those.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK32 = 0xFFFFFFFF
MOD64 = 1 << 64
RECORD_SEED = 0x726573746F726570  # "restorep"

# Pinned so that every value's text output is the same on every server: no local time zone, no locale,
# shortest-exact floats (PG12+), hex bytea, and schema-qualified names for regclass/enum-like output.
SESSION_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "search_path": "pg_catalog",
    "standard_conforming_strings": "on",
}


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & MASK32


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & MASK32; a ^= _rot(c, 4); c = (c + b) & MASK32  # noqa: E702
    b = (b - a) & MASK32; b ^= _rot(a, 6); a = (a + c) & MASK32  # noqa: E702
    c = (c - b) & MASK32; c ^= _rot(b, 8); b = (b + a) & MASK32  # noqa: E702
    a = (a - c) & MASK32; a ^= _rot(c, 16); c = (c + b) & MASK32  # noqa: E702
    b = (b - a) & MASK32; b ^= _rot(a, 19); a = (a + c) & MASK32  # noqa: E702
    c = (c - b) & MASK32; c ^= _rot(b, 4); b = (b + a) & MASK32  # noqa: E702
    return a, b, c


def _final(a: int, b: int, c: int) -> tuple[int, int, int]:
    c ^= b; c = (c - _rot(b, 14)) & MASK32  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & MASK32  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & MASK32  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & MASK32  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & MASK32  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & MASK32  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & MASK32  # noqa: E702
    return a, b, c


def hash_bytes_extended(data: bytes, seed: int = 0) -> int:
    """PostgreSQL's hash_bytes_extended, returned as the signed 64-bit value SQL shows."""
    length = len(data)
    a = b = c = (0x9E3779B9 + length + 3923095) & MASK32
    if seed:
        a = (a + ((seed >> 32) & MASK32)) & MASK32
        b = (b + (seed & MASK32)) & MASK32
        a, b, c = _mix(a, b, c)
    pos = 0
    while length - pos >= 12:
        a = (a + int.from_bytes(data[pos : pos + 4], "little")) & MASK32
        b = (b + int.from_bytes(data[pos + 4 : pos + 8], "little")) & MASK32
        c = (c + int.from_bytes(data[pos + 8 : pos + 12], "little")) & MASK32
        a, b, c = _mix(a, b, c)
        pos += 12
    tail = data[pos:]
    # The lowest byte of c is reserved for the length in lookup3, hence the shift by 8 for c.
    a = (a + int.from_bytes(tail[0:4], "little")) & MASK32
    b = (b + int.from_bytes(tail[4:8], "little")) & MASK32
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & MASK32
    a, b, c = _final(a, b, c)
    unsigned = (b << 32) | c
    return unsigned - MOD64 if unsigned >= (1 << 63) else unsigned


def hash_uint32_extended(value: int, seed: int = 0) -> int:
    """PostgreSQL's hash_uint32_extended (signed 64-bit result, as SQL shows it)."""
    a = b = c = (0x9E3779B9 + 4 + 3923095) & MASK32
    if seed:
        a = (a + ((seed >> 32) & MASK32)) & MASK32
        b = (b + (seed & MASK32)) & MASK32
        a, b, c = _mix(a, b, c)
    a = (a + (value & MASK32)) & MASK32
    a, b, c = _final(a, b, c)
    unsigned = (b << 32) | c
    return unsigned - MOD64 if unsigned >= (1 << 63) else unsigned


def hash_int8_extended(value: int, seed: int = 0) -> int:
    """hashint8extended: fold the high half into the low one so that int8 and int4 values hash alike."""
    lo, hi = value & MASK32, (value >> 32) & MASK32
    lo ^= hi if value >= 0 else (~hi & MASK32)
    return hash_uint32_extended(lo, seed)


def column_seed(position: int) -> int:
    """The seed of the "columns" hash of the column at `position` (1-based, dropped columns not counted)."""
    return RECORD_SEED + position


def null_hash(position: int) -> int:
    """The "columns" hash of a NULL at `position`: not the seed, which is what float and numeric zero hash to."""
    return ~column_seed(position)


def columns_hash(column_hashes: Iterable[int | None]) -> int:
    """The "columns" row hash given each column's seeded hash in order (None for NULL), signed as SQL shows it."""
    result = 0
    for position, column in enumerate(column_hashes, start=1):
        result ^= (null_hash(position) if column is None else column) % MOD64
    return result - MOD64 if result >= (1 << 63) else result


def record_hash(column_hashes: Iterable[int | None]) -> int:
    """hash_record_extended's combination of the columns' hashes (None for NULL)."""
    result = 0
    for column in column_hashes:
        result = (result * 31 + (0 if column is None else column % MOD64)) % MOD64
    return result - MOD64 if result >= (1 << 63) else result


def row_hash(row_text: str) -> int:
    return hash_bytes_extended(row_text.encode("utf-8"))


def combine(hashes: Iterable[int]) -> int:
    """Order-independent combination: the sum of (hash + 1) modulo 2**64."""
    return sum(h + 1 for h in hashes) % MOD64


def format_checksum(value: int) -> str:
    """A checksum as 16 hex digits, the form manifests and evidence carry."""
    return f"{value % MOD64:016x}"


def checksum_rows(row_texts: Iterable[str]) -> str:
    """Reference checksum of a table given its rows' text output."""
    return format_checksum(combine(row_hash(t) for t in row_texts))
