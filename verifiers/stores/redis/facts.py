"""What a Redis dataset holds, as facts: per logical db the key count, the type histogram and the digest, for
all keys and for the keys with a TTL. The same model is captured into a manifest and measured after a
restore. Keys with a TTL are kept apart because they may expire between capture and verification: a
server loading an RDB drops the keys whose time has passed, as it should."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from verifiers.stores.redis.digest import ZERO, difference

DIGEST = Field(pattern=r"^[0-9a-f]{40}$")


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeySet(_Facts):
    """Some keys of one logical db: how many, how many of each type, their combined digest."""

    keys: int = Field(ge=0)
    types: dict[str, int]
    digest: str = DIGEST


class VolatileKeys(KeySet):
    """The keys with a TTL, and when the first of them expires (None when there are none)."""

    first_expiry: datetime | None = None


class KeyspaceFacts(KeySet):
    """One logical db: every key, and among them those with a TTL."""

    ttl: VolatileKeys

    @property
    def persistent(self) -> KeySet:
        """The keys without a TTL: what must survive however long after capture the restore happens."""
        types = Counter(self.types)
        types.subtract(self.ttl.types)
        return KeySet(keys=self.keys - self.ttl.keys, types={t: n for t, n in types.items() if n},
                      digest=difference(self.digest, self.ttl.digest))

    @property
    def counts(self) -> dict[str, int]:
        return {"keys": self.keys, "with_ttl": self.ttl.keys}


EMPTY = KeyspaceFacts(keys=0, types={}, digest=ZERO, ttl=VolatileKeys(keys=0, types={}, digest=ZERO))


class DatasetFacts(_Facts):
    """Every non-empty logical db, by number (an RDB does not record empty ones)."""

    databases: dict[int, KeyspaceFacts]
