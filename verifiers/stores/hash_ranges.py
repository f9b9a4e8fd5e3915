"""Narrowing a differing table or collection down to key-hash ranges: for the kinds whose checksum is computed in
Python over a full read (DynamoDB, MongoDB), and for SQL tables without a single-column integer key (PostgreSQL's
and MySQL's key_hashes, computed in the server the same way: top bits of a 64-bit hash). Each item's key
(DynamoDB's partition + sort key, MongoDB's `_id`, a SQL table's primary key) is hashed, and the top `bits` bits
of that 64-bit hash pick its segment. The manifest keeps items and checksum
per segment; after a restore the restored copy is measured by the same segments in the same pass, and the
segments that differ are named as hash ranges, `key-hash 0x3c00000000000000..0x3fffffffffffffff`.

Keys may be personal data, so a key never appears: only the bounds of a hash range, which say nothing about the
keys in it but let someone holding a key (and the algorithm, in the manifest) tell whether it is in the range.
Hash ranges rather than key ranges because neither kind has an ordered, integer key to cut: DynamoDB scans in
hash order anyway, and `_id` may be of any BSON type.

A pass accumulates at the finest resolution (MAX_BITS), so the count needed to size the segments is known only at
the end, and cuts to `bits` then: a capture sizes segments to about `segment_items` items each (a power of two
of segments, so 500 to 1,000 on average by default); a verify takes the manifest's `bits`. The whole checksum is
the sum of the segments' (each kind's checksum is a sum of item terms modulo 2^64 or 2^128), one pass for both.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field

from verifiers.errors import CaptureError

DEFAULT_SEGMENT_ITEMS = 1000
MAX_BITS = 16  # 65,536 segments at most, ~3 MB of manifest per table; a bigger table gets fuller segments
HASH_BITS = 64
SHOWN = 10  # ranges named in a message; the count says how many more
LABELLED = re.compile(r"(?P<label>[a-z_]+-hash): ")


def key_hash(canonical_key: bytes) -> int:
    """The 64-bit hash that places an item in its segment."""
    return int.from_bytes(hashlib.sha256(canonical_key).digest()[:8], "big")


def segment_bits(items: int, segment_items: int = DEFAULT_SEGMENT_ITEMS) -> int:
    """Fewest bits (2^bits segments) that hold `items` at `segment_items` or fewer per segment on average, at most
    MAX_BITS."""
    if segment_items < 1:
        raise ValueError(f"segment_items must be at least 1, not {segment_items}")
    wanted = -(-items // segment_items)
    return min(max(wanted - 1, 0).bit_length(), MAX_BITS)


def check_segment_items(kind: str, flag: str, value: int) -> None:
    """A capture's segment size, refused before anything is read or written."""
    if value < 1:
        raise CaptureError(f"capture {kind}: {flag} {value} is not a number of items",
                           hint=f"give a whole number of at least 1 (default {DEFAULT_SEGMENT_ITEMS})")


class HashSegments(BaseModel):
    """Items and checksum per key-hash segment, so a mismatch can be narrowed to hash ranges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str = Field(description="how an item's key is hashed; its segment is the hash's top `bits` bits")
    bits: int = Field(ge=0, le=MAX_BITS, description="2^bits segments")
    segments: dict[int, tuple[int, str]] = Field(
        description="segment -> (items, checksum); a segment without items is left out")

    def bounds(self, segment: int) -> tuple[int, int]:
        """Inclusive bounds of a segment's key hashes."""
        width = 1 << (HASH_BITS - self.bits)
        return segment * width, (segment + 1) * width - 1

    def whole(self, digits: int = 16) -> tuple[int, str]:
        """The table's count and checksum from its segments', for a checksum that is a sum modulo 16^digits."""
        total = sum(int(checksum, 16) for _, checksum in self.segments.values()) % (16 ** digits)
        return sum(n for n, _ in self.segments.values()), f"{total:0{digits}x}"

    @property
    def label(self) -> str:
        """What the hash ranges are of, as a message names them: the algorithm's `row-hash: …` prefix when it has
        one (the SQL kinds' key_hashes), else `key-hash`."""
        named = LABELLED.match(self.algorithm)
        return named["label"] if named else "key-hash"


class SegmentDigest:
    """Count and sum of item terms per segment at MAX_BITS, accumulated one item at a time; `modulus` is the
    kind's checksum modulus (2^64, 2^128)."""

    __slots__ = ("cells", "modulus")

    def __init__(self, modulus: int) -> None:
        self.modulus = modulus
        self.cells: dict[int, list[int]] = {}

    def add(self, key_hash: int, term: int) -> None:
        cell = self.cells.get(key_hash >> (HASH_BITS - MAX_BITS))
        if cell is None:
            self.cells[key_hash >> (HASH_BITS - MAX_BITS)] = [1, term]
        else:  # reduced modulo only when read: one addition per item on the hot path
            cell[0] += 1
            cell[1] += term

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.cells.values())

    @property
    def total(self) -> int:
        """The whole checksum, as the sum of the segments'."""
        return sum(total for _, total in self.cells.values()) % self.modulus

    def segments(self, bits: int, *, digits: int, algorithm: str) -> HashSegments:
        """The cells cut to 2^bits segments, checksums as `digits` hex digits."""
        merged: dict[int, list[int]] = {}
        for cell, (n, total) in self.cells.items():
            into = merged.setdefault(cell >> (MAX_BITS - bits), [0, 0])
            into[0] += n
            into[1] = (into[1] + total) % self.modulus
        return HashSegments(algorithm=algorithm, bits=bits,
                            segments={s: (n, f"{total:0{digits}x}") for s, (n, total) in sorted(merged.items())})


def differing_segments(captured: HashSegments, restored: HashSegments) -> list[tuple[int, int, int]]:
    """(segment, items restored, items captured) of every segment whose items differ; none when the two were not
    cut the same way."""
    if (captured.bits, captured.algorithm) != (restored.bits, restored.algorithm):
        return []
    out = []
    for segment in sorted(set(captured.segments) | set(restored.segments)):
        want, got = captured.segments.get(segment, (0, "")), restored.segments.get(segment, (0, ""))
        if want != got:
            out.append((segment, got[0], want[0]))
    return out


def _hex(value: int) -> str:
    return f"0x{value:016x}"


def differing_bounds(captured: HashSegments | None, restored: HashSegments | None,
                     label: str) -> list[tuple[str, str]]:
    """[first, last] of every differing segment's hash range, the first labelled (`key-hash 0x3c00…`, `0x3fff…`):
    the failed check's observed `ranges`."""
    if captured is None or restored is None:
        return []
    return [(f"{label} {_hex(first)}", _hex(last))
            for first, last in (captured.bounds(s) for s, _got, _want in differing_segments(captured, restored))]


def narrowed(captured: HashSegments | None, restored: HashSegments | None, *, label: str, noun: str,
             limit: int = SHOWN) -> str | None:
    """`key-hash 0x3c00…..0x3fff… (3 items restored, 4 captured); …`: where a differing table differs, hash
    ranges only."""
    if captured is None or restored is None:
        return None
    differing = differing_segments(captured, restored)
    parts = []
    for segment, got, want in differing[:limit]:
        first, last = captured.bounds(segment)
        parts.append(f"{label} {_hex(first)}..{_hex(last)} ({got} {noun} restored, {want} captured)")
    if len(differing) > limit:
        parts.append(f"and {len(differing) - limit} more ranges")
    return "; ".join(parts) or None
