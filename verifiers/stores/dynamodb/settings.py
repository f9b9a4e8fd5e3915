"""The inventory settings of a dynamodb store."""

from __future__ import annotations

from typing import ClassVar, Literal

from verifiers.store_settings import StoreSettings


class DynamoDbStore(StoreSettings):
    """A DynamoDB backup restored into a temporary table, judged by item count and an order-independent
    checksum of its items against a captured manifest."""

    DEFAULT_SUITE: ClassVar[str] = "dynamodb"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"dynamodb-backup"})
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "a dynamodb store"
    kind: Literal["dynamodb"]


SETTINGS = (DynamoDbStore,)
