"""The manifest written at capture time: the facts of the dataset in the RDB, and the RDB they belong to."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from verifiers.atomic import write_text_atomically
from verifiers.errors import ManifestError
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
    hint = "capture backups with `restoreproof capture redis` so each has a manifest, or set stores.source.manifest"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"store {store}: manifest {path} does not exist", hint=hint) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"store {store}: manifest {path} is not readable JSON: {exc}") from None
    kind = raw.get("kind") if isinstance(raw, dict) else None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if kind != "redis":
        raise ManifestError(f"store {store}: manifest {path} is a {kind!r} manifest, not a redis one", hint=hint)
    if version != MANIFEST_SCHEMA_VERSION:
        raise ManifestError(
            f"store {store}: manifest {path} has schema_version {version!r}; this restoreproof reads "
            f"{MANIFEST_SCHEMA_VERSION}", hint="upgrade restoreproof, or re-capture the backup with this version")
    try:
        manifest = RedisManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"store {store}: manifest {path} is invalid at {where}: {first['msg']}") from None
    if manifest.digest_algorithm != DIGEST_ALGORITHM:
        raise ManifestError(f"store {store}: manifest {path} uses digest {manifest.digest_algorithm!r}, this "
                            f"restoreproof computes {DIGEST_ALGORITHM!r}",
                            hint="re-capture the backup with this version")
    return manifest


def save_manifest(manifest: RedisManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")
