"""The manifest written at backup time: the facts of the database as dumped, and the artifact they belong to."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.rowhash import CHECKSUM_ALGORITHM

MANIFEST_SCHEMA_VERSION: Literal[1] = 1


class ManifestArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    format: str = Field(description="sql or sql.gz")


class MysqlManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    kind: Literal["mysql"] = "mysql"
    tool_version: str
    captured_at: datetime
    database: str
    checksum_algorithm: str = CHECKSUM_ALGORITHM
    consistency: str = Field(description="how the dump and the manifest queries saw the same data")
    artifact: ManifestArtifact
    facts: DatabaseFacts


def load_manifest(path: Path, *, store: str) -> MysqlManifest:
    return read_manifest(path, MysqlManifest, store=store, kind="mysql",
                         capture_hint="capture backups with `restoreproof capture mysql` so each has a manifest",
                         schema_version=MANIFEST_SCHEMA_VERSION, algorithm=("checksum_algorithm", CHECKSUM_ALGORITHM))


def save_manifest(manifest: MysqlManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2, by_alias=True) + "\n")
