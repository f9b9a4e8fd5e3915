"""Every store kind, by its inventory `kind`: the one registry (one line per kind). Kept apart from the
package, whose kinds import its shared plan and helpers, so that the package and its kinds form no import cycle."""

from __future__ import annotations

from typing import Any

from verifiers.stores.base import StoreKind

_KINDS: dict[str, StoreKind[Any]] = {}


def store_kind(kind: str) -> StoreKind[Any]:
    """The kind's implementation. Its modules are imported on first use, here, not when this module is: the
    plugin is loaded by every pytest run in the environment (a pytest11 entry point), and importing every kind's
    drivers (psycopg, pymysql, redis, pymongo, boto3) up front doubled its start-up (0.29 s to 0.6 s, measured
    with -X importtime). Not a hidden cycle: tests/unit/test_import_cycles.py counts these imports too."""
    if not _KINDS:
        from verifiers.stores.cloud_bucket.kind import CloudBucketKind
        from verifiers.stores.dynamodb.kind import DynamoDbKind
        from verifiers.stores.mongo.kind import MongoKind
        from verifiers.stores.mysql.kind import MysqlKind
        from verifiers.stores.postgres.kind import PostgresKind
        from verifiers.stores.redis.kind import RedisKind
        from verifiers.stores.s3.kind import S3Kind

        _KINDS.update({"postgres": PostgresKind(), "redis": RedisKind(), "mysql": MysqlKind(), "s3": S3Kind(),
                       "dynamodb": DynamoDbKind(), "mongo": MongoKind(), "gcs": CloudBucketKind(),
                       "azure-blob": CloudBucketKind()})
    return _KINDS[kind]
