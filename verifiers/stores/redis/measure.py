"""Measure a sandbox server's dataset: SCAN for key names, the digest script (digest.KEY_DIGEST_LUA) for each
batch, so that values never leave the server; only types, TTL flags, expiry times and digests do.

SCAN may return a key twice (when a table is resized between calls), so names are de-duplicated per db.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import redis

from verifiers.stores.redis.digest import KEY_DIGEST_LUA, ZERO, combine
from verifiers.stores.redis.facts import DatasetFacts, KeySet, KeyspaceFacts, VolatileKeys

SCAN_COUNT = 1000


@dataclass
class _Tally:
    keys: int = 0
    types: Counter[str] = field(default_factory=Counter)
    digest: str = ZERO
    first_expiry_ms: int | None = None

    def add(self, kind: str, digest: str, expiry_ms: int) -> None:
        self.keys += 1
        self.types[kind] += 1
        self.digest = combine((self.digest, digest))  # a running sum: memory stays flat
        if expiry_ms >= 0 and (self.first_expiry_ms is None or expiry_ms < self.first_expiry_ms):
            self.first_expiry_ms = expiry_ms

    def key_set(self) -> KeySet:
        return KeySet(keys=self.keys, types=dict(sorted(self.types.items())), digest=self.digest)


def databases(client: redis.Redis) -> list[int]:
    """The logical dbs holding keys, from INFO keyspace (`db3:keys=…`)."""
    info = client.info("keyspace")
    return sorted(int(name[2:]) for name in info if name.startswith("db") and name[2:].isdigit())


def measure_dataset(client_for: Callable[[int], redis.Redis]) -> DatasetFacts:
    """Facts of every non-empty db; `client_for(db)` gives a client connected to that db."""
    found: dict[int, KeyspaceFacts] = {}
    for db in databases(client_for(0)):
        facts = measure_db(client_for(db))
        if facts.keys:
            found[db] = facts
    return DatasetFacts(databases=found)


def measure_db(client: redis.Redis) -> KeyspaceFacts:
    script = client.register_script(KEY_DIGEST_LUA)
    every, volatile = _Tally(), _Tally()
    for batch in _unique_batches(client):
        for row in script(keys=batch):
            kind, has_ttl, digest, expiry = row[0].decode(), int(row[1]), row[2].decode(), int(row[3])
            if kind == "none":
                continue  # expired or gone between SCAN and the script
            every.add(kind, digest, expiry)
            if has_ttl:
                volatile.add(kind, digest, expiry)
    first = volatile.first_expiry_ms
    ttl = VolatileKeys(**volatile.key_set().model_dump(),
                       first_expiry=None if first is None else datetime.fromtimestamp(first / 1000, tz=UTC))
    return KeyspaceFacts(**every.key_set().model_dump(), ttl=ttl)


def count_matching(client: redis.Redis, pattern: str) -> int:
    """How many keys match a Redis glob pattern (SCAN MATCH: the server's own pattern rules)."""
    seen: set[bytes] = set()
    for batch in _unique_batches(client, pattern=pattern):
        seen.update(batch)
    return len(seen)


def _unique_batches(client: redis.Redis, *, pattern: str | None = None) -> Iterator[list[bytes]]:
    seen: set[bytes] = set()
    cursor = 0
    while True:
        cursor, names = client.scan(cursor, match=pattern, count=SCAN_COUNT)
        fresh = [n for n in dict.fromkeys(cast(list[bytes], names)) if n not in seen]
        seen.update(fresh)
        if fresh:
            yield fresh
        if cursor == 0:
            return

