"""The document checksum: what "the same documents" means for a MongoDB collection.

Canonical form of a document: its BSON bytes exactly as stored, except that a top-level `_id` is moved to the
front (the server always stores it first, so a dump that has it elsewhere restores with it first). Nothing
else is normalised, on purpose:
- field order is kept at every level: in MongoDB `{a: 1, b: 2}` and `{b: 2, a: 1}` are different values
  (equality matches on embedded documents compare them in order), and mongodump/mongorestore keep it;
- BSON types are kept: int32 1, int64 1 and double 1.0 are different values to the server (and a restore that
  turns one into another, e.g. through JSON, is a drift worth failing on);
- bytes are kept: a restore is byte-faithful, so -0.0 vs 0.0 or two NaN payloads would be real differences.

A document's hash is the first 128 bits of SHA-256 of its canonical bytes; a collection's checksum is the sum
of (hash + 1) modulo 2**128 over its documents: order-independent, keeps duplicates, and an empty collection
differs from a missing one only through its count. The same code hashes the dump at capture and the restored
server's documents at verify (fetched as raw BSON batches, never decoded), so the two cannot disagree on
encoding; hypothesis holds the properties above in tests/unit/test_mongo_dochash.py.

The same pass keeps count and checksum per `_id`-hash segment (verifiers/stores/hash_ranges.py): a document's
segment is picked by a hash of its `_id` as stored (BSON type byte and value bytes, so int32 1 and int64 1 are
different `_id`s, as they are to the checksum), and the collection's checksum is the segments' sum.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator

from verifiers.stores.hash_ranges import DEFAULT_SEGMENT_ITEMS, HashSegments, SegmentDigest, key_hash, segment_bits

CHECKSUM_ALGORITHM = "bson-id-first-sha256-128-sum-v1"
ID_HASH_ALGORITHM = "sha256(_id as BSON: type byte + value bytes)[:8] v1"
_MODULUS = 1 << 128
_INT32 = struct.Struct("<i")
# Fixed-size BSON value types (type byte -> value bytes), from the BSON spec (bsonspec.org).
_FIXED = {0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16,
          0x7F: 0, 0xFF: 0}
_LENGTH_PREFIXED_STRING = {0x02, 0x0D, 0x0E}  # string, JavaScript code, symbol: int32 length + bytes
_EMBEDDED = {0x03, 0x04, 0x0F}  # document, array, code with scope: int32 total length includes itself


class MalformedDocument(ValueError):
    """A BSON document whose element structure does not hold together (damaged or not BSON)."""


def elements(raw: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(name, start, end) of each top-level element of a BSON document; raises MalformedDocument."""
    if len(raw) < 5 or _INT32.unpack_from(raw)[0] != len(raw) or raw[-1] != 0:
        raise MalformedDocument("document length prefix does not match its size, or no trailing NUL")
    pos, end = 4, len(raw) - 1
    while pos < end:
        start, kind = pos, raw[pos]
        name_end = raw.find(b"\x00", pos + 1, end)
        if name_end < 0:
            raise MalformedDocument("element name is not terminated")
        pos = _value_end(raw, kind, name_end + 1, end)
        yield raw[start + 1:name_end], start, pos
    if pos != end:
        raise MalformedDocument("elements overrun the document")


def _value_end(raw: bytes, kind: int, pos: int, end: int) -> int:
    if kind in _FIXED:
        size = _FIXED[kind]
    elif kind in _LENGTH_PREFIXED_STRING:
        size = 4 + _length(raw, pos, end)
    elif kind in _EMBEDDED:
        size = _length(raw, pos, end)
    elif kind == 0x05:  # binary: int32 length + subtype byte + bytes
        size = 5 + _length(raw, pos, end)
    elif kind == 0x0B:  # regex: two cstrings
        first = raw.find(b"\x00", pos, end)
        second = raw.find(b"\x00", first + 1, end) if first >= 0 else -1
        if second < 0:
            raise MalformedDocument("regular expression is not terminated")
        return second + 1
    elif kind == 0x0C:  # DBPointer: string + 12-byte ObjectId
        size = 4 + _length(raw, pos, end) + 12
    else:
        raise MalformedDocument(f"unknown BSON element type 0x{kind:02x}")
    if size < 0 or pos + size > end:
        raise MalformedDocument("element value runs past the end of the document")
    return pos + size


def _length(raw: bytes, pos: int, end: int) -> int:
    if pos + 4 > end:
        raise MalformedDocument("element length runs past the end of the document")
    value: int = _INT32.unpack_from(raw, pos)[0]
    if value < 0:
        raise MalformedDocument("negative element length")
    return value


def canonical(raw: bytes) -> bytes:
    """The document's canonical bytes: as stored, with a top-level `_id` moved to the front."""
    if raw[5:9] == b"_id\x00" and len(raw) >= 5 and _INT32.unpack_from(raw)[0] == len(raw):
        return raw  # already first, as the server stores it: the common case, no element walk
    parts = list(elements(raw))
    if not parts or parts[0][0] == b"_id":
        return raw
    for name, start, stop in parts:
        if name == b"_id":
            body = raw[start:stop] + raw[4:start] + raw[stop:-1]
            return _INT32.pack(len(body) + 5) + body + b"\x00"
    return raw


def document_hash(raw: bytes) -> int:
    return _hash128(canonical(raw))


def _hash128(canonical_bytes: bytes) -> int:
    return int.from_bytes(hashlib.sha256(canonical_bytes).digest()[:16], "big")


def id_bytes(canonical_bytes: bytes) -> bytes:
    """A canonical document's `_id` as stored: its BSON type byte and value bytes (b"" for a document without)."""
    if canonical_bytes[5:9] != b"_id\x00":
        return b""
    return canonical_bytes[4:5] + canonical_bytes[9:_value_end(canonical_bytes, canonical_bytes[4], 9,
                                                                    len(canonical_bytes) - 1)]


def id_hash(raw: bytes) -> int:
    """The hash of a document's `_id`, which picks its segment."""
    return key_hash(id_bytes(canonical(raw)))


class CollectionDigest:
    """Accumulates a collection's count and order-independent checksum per `_id`-hash segment, one raw document
    at a time."""

    __slots__ = ("digest",)

    def __init__(self) -> None:
        self.digest = SegmentDigest(_MODULUS)

    def add(self, raw: bytes) -> None:
        document = canonical(raw)
        self.digest.add(key_hash(id_bytes(document)), _hash128(document) + 1)

    @property
    def count(self) -> int:
        return self.digest.count

    @property
    def checksum(self) -> str:
        return f"{self.digest.total:032x}"

    def segments(self, bits: int | None = None, segment_documents: int = DEFAULT_SEGMENT_ITEMS) -> HashSegments:
        """Count and checksum per segment: 2^bits of them (a manifest's), else about `segment_documents` each."""
        return self.digest.segments(segment_bits(self.count, segment_documents) if bits is None else bits,
                                    digits=32, algorithm=ID_HASH_ALGORITHM)


def collection_checksum(documents: Iterable[bytes]) -> tuple[int, str]:
    """(count, checksum) of raw BSON documents: the Python reference, used by capture and verify alike."""
    digest = CollectionDigest()
    for raw in documents:
        digest.add(raw)
    return digest.count, digest.checksum


def split_batch(batch: bytes) -> Iterator[bytes]:
    """The documents of a raw batch (pymongo's find_raw_batches): BSON documents back to back."""
    pos = 0
    while pos < len(batch):
        if pos + 4 > len(batch):
            raise MalformedDocument("batch ends inside a document length")
        size = _INT32.unpack_from(batch, pos)[0]
        if size < 5 or pos + size > len(batch):
            raise MalformedDocument("batch holds a document whose length runs past its end")
        yield batch[pos:pos + size]
        pos += size
