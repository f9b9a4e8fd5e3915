"""The manifest written at backup time: the facts of the database as dumped, and the artifact they belong to."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from verifiers.atomic import write_text_atomically
from verifiers.errors import ManifestError
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
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"store {store}: manifest {path} does not exist",
            hint="capture backups with `restoreproof capture mysql` so each has a manifest, "
            "or set stores.source.manifest",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"store {store}: manifest {path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("kind") != "mysql":
        found = raw.get("kind") if isinstance(raw, dict) else None
        raise ManifestError(f"store {store}: manifest {path} is of kind {found!r}, not a MySQL manifest",
                            hint="point stores.source.manifest at the manifest `restoreproof capture mysql` wrote")
    version = raw.get("schema_version")
    if version != MANIFEST_SCHEMA_VERSION:
        raise ManifestError(
            f"store {store}: manifest {path} has schema_version {version!r}; this restoreproof reads "
            f"{MANIFEST_SCHEMA_VERSION}",
            hint="upgrade restoreproof, or re-capture the backup with this version",
        )
    try:
        manifest = MysqlManifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"store {store}: manifest {path} is invalid at {where}: {first['msg']}") from None
    if manifest.checksum_algorithm != CHECKSUM_ALGORITHM:
        raise ManifestError(
            f"store {store}: manifest {path} uses checksum {manifest.checksum_algorithm!r}, "
            f"this restoreproof computes {CHECKSUM_ALGORITHM!r}",
            hint="re-capture the backup with this version",
        )
    return manifest


def save_manifest(manifest: MysqlManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2, by_alias=True) + "\n")
