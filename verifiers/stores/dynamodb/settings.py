"""The inventory settings of a dynamodb store."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from verifiers.store_settings import StoreSettings


class DynamoDbStore(StoreSettings):
    """A DynamoDB backup restored into a temporary table, judged by item count and an order-independent
    checksum of its items against a captured manifest."""

    DEFAULT_SUITE: ClassVar[str] = "dynamodb"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset()
    SERVICE_SOURCES: ClassVar[frozenset[str]] = frozenset({"dynamodb-backup"})
    kind: Literal["dynamodb"]

    @model_validator(mode="after")
    def _no_sql(self) -> DynamoDbStore:
        if self.assertions:
            raise ValueError("`assertions` (SQL) do not apply to a dynamodb store")
        return self


SETTINGS = (DynamoDbStore,)
