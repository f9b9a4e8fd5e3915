"""An RDB file cut into per-key DUMP payloads, for RESTORE into a server the harness did not start (the
`external` sandbox: a running server loads an RDB only from its own disk at start, so the data goes in key by
key instead, see verifiers/stores/redis/external_server.py).

A DUMP payload is one RDB value serialization (the type byte and the value's encoding, exactly as in the file),
then the RDB version as 2 bytes little endian, then a CRC64 (Jones, reflected, as in redis' src/crc64.c) of
everything before it, little endian. So the values are sliced from the file as they are, never re-encoded: the
parser here only walks the encodings (src/rdb.c rdbLoadObject) to find where each value ends, and reads key
names and expiry times. Module values and types newer than Redis 7.2 (hash field expiry) are refused by name.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anycrc

from verifiers.errors import ArtifactFormatError
from verifiers.stores.redis.rdb import HINT, RdbHeader, parse_header

# Opcodes (src/rdb.h). 0xF4 is Valkey 8+'s slot info (three lengths), skipped like RESIZEDB.
OP_SLOT_INFO, OP_FUNCTION_PRE_GA, OP_FUNCTION2, OP_MODULE_AUX = 0xF4, 0xF5, 0xF6, 0xF7
OP_IDLE, OP_FREQ, OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = range(0xF8, 0x100)

TYPE_NAMES = {0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 6: "module", 7: "module",
              9: "hash", 10: "list", 11: "set", 12: "zset", 13: "hash", 14: "list", 15: "stream", 16: "hash",
              17: "zset", 18: "list", 19: "stream", 20: "set", 21: "stream"}
_ONE_STRING = frozenset({0, 9, 10, 11, 12, 13, 16, 17, 20})  # a string, or a ziplist/listpack/intset blob
_STREAMS = frozenset({15, 19, 21})
_MODULES = frozenset({6, 7})


class RdbFormatError(ArtifactFormatError):
    """The RDB cannot be cut into payloads: damaged, truncated, or holding what RESTORE cannot take."""


@dataclass(frozen=True)
class KeyPayload:
    db: int
    key: bytes
    expires_ms: int | None  # absolute unix ms, for RESTORE ... ABSTTL
    type_name: str
    payload: bytes  # a complete DUMP payload (value, version, CRC64)


# CRC-64/REDIS (Jones polynomial 0xad93d23594c935a9, reflected, init 0, no final xor: redis' src/crc64.c),
# from anycrc's C implementation, about 1000x a pure-Python table loop (6 GB/s against 6 MB/s here); the tests
# check it against redis' own test vector and a bit-by-bit reference written from the polynomial.
_REDIS_CRC = anycrc.Model("CRC64-REDIS")


def crc64(data: bytes | memoryview, crc: int = 0) -> int:
    """redis' crc64; `crc` continues an earlier value (the CRC of the bytes before `data`)."""
    return int(_REDIS_CRC.calc(data, crc))


def dump_payload(value: bytes, rdb_version: int) -> bytes:
    """The DUMP/RESTORE payload of one serialized value (type byte + encoding) for `rdb_version`."""
    body = value + rdb_version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes, pos: int, artifact: str) -> None:
        self.buf, self.pos, self.artifact = buf, pos, artifact

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise RdbFormatError(f"{self.artifact}: the RDB is truncated (it ends inside a value at byte {self.pos})",
                                 hint="the backup is incomplete; take a new one")
        data = bytes(self.buf[self.pos:end])
        self.pos = end
        return data

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            self.take(n)  # raises: truncated
        self.pos += n

    def byte(self) -> int:
        return self.take(1)[0]

    def length(self) -> tuple[int, bool]:
        """(length, encoded): rdbLoadLenByRef; `encoded` means the low bits name a special string encoding."""
        first = self.byte()
        kind, low = first >> 6, first & 0x3F
        if kind == 0:
            return low, False
        if kind == 1:
            return (low << 8) | self.byte(), False
        if kind == 3:
            return low, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise self.damaged(f"an unknown length encoding 0x{first:02x}")

    def count(self) -> int:
        value, encoded = self.length()
        if encoded:
            raise self.damaged("an encoded string where a count belongs")
        return value

    def string(self) -> bytes:
        value, encoded = self.length()
        if not encoded:
            return self.take(value)
        if value in (0, 1, 2):
            return str(int.from_bytes(self.take(1 << value), "little", signed=True)).encode()
        if value == 3:
            clen, ulen = self.count(), self.count()
            return _lzf_decompress(self.take(clen), ulen, self)
        raise self.damaged(f"an unknown string encoding {value}")

    def skip_string(self) -> None:
        value, encoded = self.length()
        if not encoded:
            self.skip(value)
        elif value in (0, 1, 2):
            self.skip(1 << value)
        elif value == 3:
            clen = self.count()
            self.count()
            self.skip(clen)
        else:
            raise self.damaged(f"an unknown string encoding {value}")

    def damaged(self, what: str) -> RdbFormatError:
        return RdbFormatError(f"{self.artifact}: the RDB is damaged: {what} at byte {self.pos}",
                              hint="the backup is corrupt; take a new one")


def _lzf_decompress(data: bytes, size: int, cursor: _Cursor) -> bytes:
    """liblzf's lzf_decompress (key names only: values are sliced, never decompressed)."""
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i] if i < len(data) else 0
            i += 1
        if i >= len(data):
            raise cursor.damaged("a cut LZF back-reference")
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if ref < 0:
            raise cursor.damaged("an LZF back-reference before the start")
        for _ in range(length + 2):
            out.append(out[ref])
            ref += 1
    if len(out) != size:
        raise cursor.damaged("an LZF string of the wrong length")
    return bytes(out)


def _skip_value(cur: _Cursor, kind: int, key_number: int) -> None:
    if kind in _ONE_STRING:
        cur.skip_string()
    elif kind in (1, 2, 14):
        for _ in range(cur.count()):
            cur.skip_string()
    elif kind == 4:
        for _ in range(2 * cur.count()):
            cur.skip_string()
    elif kind == 3:
        for _ in range(cur.count()):
            cur.skip_string()
            size = cur.byte()
            if size < 253:
                cur.skip(size)
    elif kind == 5:
        for _ in range(cur.count()):
            cur.skip_string()
            cur.skip(8)
    elif kind == 18:
        for _ in range(cur.count()):
            cur.count()  # the node's container (plain or packed)
            cur.skip_string()
    elif kind in _STREAMS:
        _skip_stream(cur, kind)
    elif kind in _MODULES:
        raise RdbFormatError(f"{cur.artifact}: key #{key_number} holds a module value (RDB type {kind}); module "
                             "data cannot be restored key by key into an external server",
                             hint='use sandbox = "local" or "docker" with the module loaded')
    else:
        raise RdbFormatError(f"{cur.artifact}: key #{key_number} has RDB type {kind}, which restoreproof cannot cut "
                             "into a RESTORE payload (a type newer than Redis 7.2, e.g. hash field expiry, or a "
                             "damaged file)", hint='use sandbox = "local" or "docker" for this backup')


def _skip_stream(cur: _Cursor, kind: int) -> None:
    """src/rdb.c: listpack nodes, then length/last id (and first id, max deleted id, entries added since
    type 19), then consumer groups with their PEL (raw 16-byte ids, 8-byte delivery times) and consumers."""
    for _ in range(cur.count()):
        cur.skip_string()  # the node key: a raw 128-bit master id
        cur.skip_string()  # the listpack
    for _ in range(3 if kind == 15 else 8):
        cur.count()
    for _ in range(cur.count()):  # consumer groups
        cur.skip_string()
        for _ in range(2 if kind == 15 else 3):  # last id ms, seq (, entries_read)
            cur.count()
        for _ in range(cur.count()):  # the group's PEL
            cur.skip(16 + 8)
            cur.count()
        for _ in range(cur.count()):  # consumers
            cur.skip_string()
            cur.skip(16 if kind == 21 else 8)  # seen time (, active time)
            cur.skip(16 * cur.count())


def iter_payloads(path: Path, *, artifact: str | None = None) -> Iterator[KeyPayload]:
    """Every key of the RDB as a RESTORE payload, in file order; the file's own CRC64 is checked at its end
    (so a damaged file raises RdbFormatError after yielding what came before: the caller cleans up)."""
    name = artifact or path.name
    with path.open("rb") as fh:
        header = parse_header(fh, name)
        if path.stat().st_size == 0:
            raise RdbFormatError(f"{name}: not an RDB file (empty file)", hint=HINT)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            yield from _walk(buf, header, name)


def _walk(buf: mmap.mmap | bytes, header: RdbHeader, name: str) -> Iterator[KeyPayload]:
    cur = _Cursor(buf, 9, name)
    db, expires, number = 0, None, 0
    while True:
        if cur.pos >= len(buf):
            raise RdbFormatError(f"{name}: the RDB is truncated (no end-of-file marker after {number} keys)",
                                 hint="the backup is incomplete; take a new one")
        op = cur.byte()
        if op == OP_EOF:
            _check_trailer(cur, header, name)
            return
        if op == OP_SELECTDB:
            db = cur.count()
        elif op == OP_EXPIRETIME_MS:
            expires = int.from_bytes(cur.take(8), "little", signed=True)
        elif op == OP_EXPIRETIME:
            expires = int.from_bytes(cur.take(4), "little", signed=True) * 1000
        elif op == OP_AUX:
            cur.skip_string()
            cur.skip_string()
        elif op == OP_RESIZEDB:
            cur.count()
            cur.count()
        elif op == OP_SLOT_INFO:
            for _ in range(3):
                cur.count()
        elif op == OP_FREQ:
            cur.skip(1)
        elif op == OP_IDLE:
            cur.count()
        elif op == OP_FUNCTION2:
            cur.skip_string()  # a function library: not a key; the measurement does not look at functions
        elif op in (OP_MODULE_AUX, OP_FUNCTION_PRE_GA):
            what = "module data" if op == OP_MODULE_AUX else "pre-7.0 functions"
            raise RdbFormatError(f"{name}: the RDB holds {what} (opcode 0x{op:02x}), which cannot be restored key "
                                 "by key",
                                 hint='use sandbox = "local" or "docker" for this backup')
        else:
            number += 1
            key = cur.string()
            value_start = cur.pos
            _skip_value(cur, op, number)
            value = bytes([op]) + bytes(buf[value_start:cur.pos])
            yield KeyPayload(db=db, key=key, expires_ms=expires, type_name=TYPE_NAMES[op],
                             payload=dump_payload(value, header.version))
            expires = None


def _check_trailer(cur: _Cursor, header: RdbHeader, name: str) -> None:
    if header.version < 5:
        return
    end = cur.pos
    stored = int.from_bytes(cur.take(8), "little")
    if not stored:
        return  # written with rdbchecksum no
    crc, chunk = 0, 1 << 20
    for offset in range(0, end, chunk):
        crc = crc64(cur.buf[offset:min(end, offset + chunk)], crc)
    if crc != stored:
        raise RdbFormatError(f"{name}: the RDB checksum does not match its content", hint="the backup is corrupt; "
                             "take a new one")
