"""The manifest written at capture time: the facts of the dataset in the RDB, and the RDB they belong to."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.redis.digest import DIGEST_ALGORITHM
from verifiers.stores.redis.facts import DatasetFacts

MANIFEST_SCHEMA_VERSION: Literal[1] = 1


class RdbArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    format: Literal["rdb"] = "rdb"
    rdb_version: int = Field(ge=1)


class RedisManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    kind: Literal["redis"] = "redis"
    tool_version: str
    captured_at: datetime
    source: str = Field(description="where the RDB came from: the server URL (no password) or a file name")
    measured_on: str = Field(description="the sandbox server the facts were measured on, e.g. 'Valkey 9.1.2'")
    digest_algorithm: str = DIGEST_ALGORITHM
    artifact: RdbArtifact
    facts: DatasetFacts


def load_manifest(path: Path, *, store: str) -> RedisManifest:
    return read_manifest(path, RedisManifest, store=store, kind="redis",
                         capture_hint="capture backups with `restoreproof capture redis` so each has a manifest",
                         schema_version=MANIFEST_SCHEMA_VERSION, algorithm=("digest_algorithm", DIGEST_ALGORITHM))


def save_manifest(manifest: RedisManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")
