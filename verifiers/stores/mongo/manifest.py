"""The manifest written at capture time: the facts of every collection in the dump, and the dump they describe."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.hash_ranges import HashSegments
from verifiers.stores.mongo.archive import DumpFormat
from verifiers.stores.mongo.dochash import CHECKSUM_ALGORITHM

MANIFEST_SCHEMA_VERSION: Literal[1] = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DumpArtifact(_Model):
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    format: DumpFormat


class CollectionFacts(_Model):
    """One namespace: its documents' count and checksum (none for views), and its definitions."""

    type: str
    documents: int | None = Field(default=None, ge=0)
    checksum: str | None = None
    segments: HashSegments | None = Field(default=None, description="per `_id`-hash segment, for narrowing")
    definitions: dict[str, str] = Field(default_factory=dict, description="type, `index NAME`, `option KEY`")


class MongoManifest(_Model):
    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    kind: Literal["mongo"] = "mongo"
    tool_version: str
    captured_at: datetime
    source: str = Field(description="where the dump came from: the URI with its password cut, or the dump's name")
    method: str = Field(description="what wrote the dump, e.g. 'mongodump 100.9.4' or 'pymongo export'")
    consistency: str = Field(description="what point in time the dump represents")
    server_version: str | None = None
    checksum_algorithm: str = CHECKSUM_ALGORITHM
    artifact: DumpArtifact
    collections: dict[str, CollectionFacts] = Field(description="by namespace, `db.collection`")


def load_manifest(path: Path, *, store: str) -> MongoManifest:
    return read_manifest(path, MongoManifest, store=store, kind="mongo",
                         capture_hint="capture backups with `restoreproof capture mongo` so each has a manifest",
                         schema_version=MANIFEST_SCHEMA_VERSION, algorithm=("checksum_algorithm", CHECKSUM_ALGORITHM))


def save_manifest(manifest: MongoManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")
