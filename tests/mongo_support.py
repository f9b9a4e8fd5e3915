"""mongodump archives built byte by byte from the documented layout (mongo-tools common/archive/spec.md), with
an independent CRC-64/XZ, so the reader is tested against the format and not against our own writer; and what
the tests against real servers (mongod, mongoeco) share: the store's settings, the databases a server holds,
a damaged copy of a captured backup."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import bson
from bson.int64 import Int64
from pymongo import MongoClient

from verifiers.inventory import parse_inventory
from verifiers.stores.mongo.settings import MongoStore

MAGIC = struct.pack("<I", 0x8199E26D)  # 6d e2 99 81 on disk
TERMINATOR = b"\xff\xff\xff\xff"


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xC96C5795D7870F42 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc64_xz(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ (Go's crc64.ECMA), bit by bit from the polynomial: reflected, init and xorout all ones."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


@dataclass
class Coll:
    db: str
    name: str
    docs: list[bytes] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    type: str = "collection"

    @property
    def namespace(self) -> str:
        return f"{self.db}.{self.name}"


def metadata_json(indexes: Sequence[dict[str, Any]] = (), options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"indexes": list(indexes), "options": options or {}}


def doc(**fields: Any) -> bytes:
    return bson.encode(fields)


def build_archive(colls: Sequence[Coll], *, server_version: str = "7.0.5", segment: int = 2,
                  interleave: bool = True, crc: dict[str, int] | None = None, eof: bool = True,
                  version: str = "0.1") -> bytes:
    """The archive bytes: prelude, then segments of `segment` documents, alternating between collections when
    `interleave`, then one EOF block per collection (its CRC from `crc` when given, to fake damage)."""
    out = bytearray(MAGIC)
    out += bson.encode({"concurrent_collections": 4, "version": version, "server_version": server_version,
                        "tool_version": "100.9.4"})
    for c in colls:
        out += bson.encode({"db": c.db, "collection": c.name, "metadata": json.dumps(c.metadata), "size": 0,
                            "type": c.type})
    out += TERMINATOR
    queues = [(c, [c.docs[i:i + segment] for i in range(0, len(c.docs), segment)]) for c in colls]
    order: list[tuple[Coll, list[bytes]]] = []
    if interleave:
        while any(chunks for _, chunks in queues):
            for c, chunks in queues:
                if chunks:
                    order.append((c, chunks.pop(0)))
    else:
        order = [(c, chunk) for c, chunks in queues for chunk in chunks]
    for c, chunk in order:
        out += bson.encode({"db": c.db, "collection": c.name, "EOF": False, "CRC": Int64(0)})
        out += b"".join(chunk) + TERMINATOR
    if eof:
        for c in colls:
            value = (crc or {}).get(c.namespace)
            if value is None:
                value = 0
                for d in c.docs:
                    value = crc64_xz(d, value)
            signed = value - (1 << 64) if value >= 1 << 63 else value
            out += bson.encode({"db": c.db, "collection": c.name, "EOF": True, "CRC": Int64(signed)}) + TERMINATOR
    return bytes(out)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sample() -> list[Coll]:
    users = Coll("app", "users", [doc(_id=i, email=f"u{i}@example.com", n=i * 1.5) for i in range(5)],
                 metadata_json([{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                                {"v": 2, "key": {"email": 1}, "name": "email_1", "unique": True}],
                               {"validator": {"$jsonSchema": {"required": ["email"]}}, "validationLevel": "strict"}))
    orders = Coll("app", "orders", [doc(_id=i, user=i % 5, total=Int64(i * 100)) for i in range(7)],
                  metadata_json([{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                                 {"v": 2, "key": {"user": 1, "total": -1}, "name": "user_1_total_-1"}]))
    empty = Coll("audit", "events", [], metadata_json([{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
                                                      {"capped": True, "size": 4096}))
    return [users, orders, empty]


class HasClient(Protocol):
    def client(self, *, timeout_ms: int = 10_000) -> MongoClient[Any]: ...


def store(directory: Path, **settings: Any) -> MongoStore:
    """Store `app`: the backups `app-*` in `directory`, with the given settings (sandbox, filters, ...)."""
    inventory = parse_inventory({"stores": [{"name": "app", "kind": "mongo", "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": str(directory / "app-*")},
                                             **settings}]}, directory / "inventory.toml")
    found = inventory.stores[0]
    assert isinstance(found, MongoStore)
    return found


def databases_of(server: HasClient) -> dict[str, list[str]]:
    """The application databases a server holds, and their collections."""
    client = server.client()
    try:
        return {db: sorted(client[db].list_collection_names()) for db in client.list_database_names()
                if db not in ("admin", "local", "config")}
    finally:
        client.close()


def damaged_copy(captured: tuple[Path, Path], data: bytes, into: Path, *, remeasure: bool) -> Path:
    """The backup with `data` as its archive, in `into`; its manifest's artifact size and SHA-256 re-measured
    (`remeasure`: the checksum then passes and what is left to find the damage is the archive itself) or kept.
    Returns the directory."""
    archive, manifest = captured
    (into / archive.name).write_bytes(data)
    raw = json.loads(manifest.read_text())
    if remeasure:
        raw["artifact"]["sha256"] = hashlib.sha256(data).hexdigest()
        raw["artifact"]["bytes"] = len(data)
    (into / manifest.name).write_text(json.dumps(raw))
    return into
