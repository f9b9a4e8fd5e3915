"""Every store kind, by its inventory `kind`: the one registry (one line per kind). Kept apart from the
package, whose kinds import its shared plan and helpers, so that the package and its kinds form no import cycle."""

from __future__ import annotations

from typing import Any

from verifiers.stores import StoreKind
from verifiers.stores.cloud_bucket import CloudBucketKind
from verifiers.stores.dynamodb import DynamoDbKind
from verifiers.stores.mongo import MongoKind
from verifiers.stores.mysql import MysqlKind
from verifiers.stores.postgres import PostgresKind
from verifiers.stores.redis import RedisKind
from verifiers.stores.s3 import S3Kind

KINDS: dict[str, StoreKind[Any]] = {
    "postgres": PostgresKind(), "redis": RedisKind(), "mysql": MysqlKind(), "s3": S3Kind(), "dynamodb": DynamoDbKind(),
    "mongo": MongoKind(), "gcs": CloudBucketKind(), "azure-blob": CloudBucketKind(),
}


def store_kind(kind: str) -> StoreKind[Any]:
    return KINDS[kind]
