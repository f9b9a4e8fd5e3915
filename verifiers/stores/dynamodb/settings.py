"""The inventory settings of a dynamodb store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from verifiers.store_settings import StoreSettings


class DynamoDbStore(StoreSettings):
    """A DynamoDB backup restored into a temporary table, judged by item count and an order-independent
    checksum of its items against a captured manifest."""

    DEFAULT_SUITE: ClassVar[str] = "dynamodb"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"dynamodb-backup", "aws-backup"})
    NO_SQL_ASSERTIONS: ClassVar[str | None] = "a dynamodb store"
    kind: Literal["dynamodb"]
    self_test: bool = Field(default=False, description="after the checks pass, prove they can fail: remove one item "
                            "and change one in the restored table (each put back) and judge again; a change not "
                            "detected fails the store")


SETTINGS = (DynamoDbStore,)
