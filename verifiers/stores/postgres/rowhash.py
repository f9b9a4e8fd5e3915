"""The PostgreSQL row checksum, defined once, with a pure-Python reference implementation.

Definition: a table's checksum is the sum, modulo 2**64, of `hashtextextended(row::text, 0)` over its
rows, where `row::text` is the record's text output under the pinned session settings of
`SESSION_SETTINGS`. A sum is order-independent and, unlike XOR, keeps duplicate rows; record text output
tells NULL (an empty field) from '' (`""`), and is stable across PostgreSQL 12+ with those settings.

`hashtextextended` is PostgreSQL's `hash_bytes_extended` (Bob Jenkins' lookup3, as adapted in
src/common/hashfn.c) over the UTF-8 bytes; `hash_bytes_extended` below mirrors it for little-endian
servers (x86-64, arm64), so the SQL can be tested against this file.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK32 = 0xFFFFFFFF
MOD64 = 1 << 64

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


def row_hash(row_text: str) -> int:
    return hash_bytes_extended(row_text.encode("utf-8"))


def combine(hashes: Iterable[int]) -> int:
    """Order-independent combination: the sum modulo 2**64 (as the SQL's sum() reduced by the caller)."""
    return sum(hashes) % MOD64


def format_checksum(value: int) -> str:
    """A checksum as 16 hex digits, the form manifests and evidence carry."""
    return f"{value % MOD64:016x}"


def checksum_rows(row_texts: Iterable[str]) -> str:
    """Reference checksum of a table given its rows' text output."""
    return format_checksum(combine(row_hash(t) for t in row_texts))
