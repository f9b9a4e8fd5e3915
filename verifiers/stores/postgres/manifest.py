"""The manifest written at backup time: the facts of the database as dumped, and the artifact they belong to."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.postgres.facts import DatabaseFacts

MANIFEST_SCHEMA_VERSION: Literal[1] = 1
CHECKSUM_ALGORITHM = "sum64(1 + xor(seeded column hashes) | hashtextextended(row::text, 0)) v3"
# Manifests of v2 are still verified: their tables name the method they used ("record" or "text").
READS_ALGORITHMS = (CHECKSUM_ALGORITHM,
                    "sum64(1 + hash_record_extended(row, seed) | hashtextextended(row::text, 0)) v2")


class ManifestArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    format: str


class SourceVersions(BaseModel):
    """What made the backup: the source server's version and the pg_dump that wrote the archive, so a restore can
    be done (and judged) on the source's own major."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server_version: str
    dump_tool: str  # e.g. "pg_dump 15.18 (system, /usr/lib/postgresql/15/bin)"
    dump_tool_version: str
    archive_version: str | None  # the archive format, e.g. "1.14.0"; None for plain SQL


class PostgresManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    kind: Literal["postgres"] = "postgres"
    tool_version: str
    captured_at: datetime
    database: str
    checksum_algorithm: str = CHECKSUM_ALGORITHM
    artifact: ManifestArtifact
    facts: DatabaseFacts
    source: SourceVersions | None = None  # absent in manifests written before restoreproof recorded it
    snapshot_id: str | None = Field(default=None, description="the RDS / Aurora snapshot this capture was "
                                    "taken with (`capture --snapshot-id`): how an rds-snapshot source pairs them")


def load_manifest(path: Path, *, store: str) -> PostgresManifest:
    return read_manifest(path, PostgresManifest, store=store, kind="postgres",
                         capture_hint="capture backups with `restoreproof capture postgres` so each has a manifest",
                         schema_version=MANIFEST_SCHEMA_VERSION, algorithm=("checksum_algorithm", READS_ALGORITHMS))


def save_manifest(manifest: PostgresManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2, by_alias=True) + "\n")
