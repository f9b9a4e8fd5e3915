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


class SourceVersions(BaseModel):
    """What made the backup: the source server and the dump tool that wrote the dump, so a restore can be done
    (and judged) on the source's own flavour and release."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server_version: str = Field(description="SELECT VERSION(), e.g. 10.11.19-MariaDB-0+deb12u1 or 8.0.36")
    version_comment: str = Field(description="@@version_comment, e.g. Debian 12 or MySQL Community Server - GPL")
    flavour: Literal["mariadb", "mysql"]
    dump_tool: str = Field(description="e.g. mariadb-dump 10.11.19 (system, /usr/bin/mariadb-dump)")
    dump_tool_version: str = Field(description="the release the dump tool's --version names, e.g. 10.11.19")


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
    source: SourceVersions | None = None  # absent in manifests written before restoreproof recorded it
    snapshot_id: str | None = Field(default=None, description="the RDS / Aurora snapshot this capture was "
                                    "taken with (`capture --snapshot-id`): how an rds-snapshot source pairs them")


def load_manifest(path: Path, *, store: str) -> MysqlManifest:
    return read_manifest(path, MysqlManifest, store=store, kind="mysql",
                         capture_hint="capture backups with `restoreproof capture mysql` so each has a manifest",
                         schema_version=MANIFEST_SCHEMA_VERSION, algorithm=("checksum_algorithm", CHECKSUM_ALGORITHM))


def save_manifest(manifest: MysqlManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2, by_alias=True) + "\n")
