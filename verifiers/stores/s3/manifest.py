"""The manifest of a bucket (or prefix): every key with its size and the sha256 of its content, captured by
streaming each object (constant memory)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifiers import __version__
from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.sources import CHUNK

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ObjectFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class S3Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    kind: Literal["s3"] = "s3"
    tool_version: str = __version__
    captured_at: datetime
    bucket: str
    prefix: str
    objects: dict[str, ObjectFacts]


def object_sha256(client: S3Client, bucket: str, key: str, version_id: str | None = None) -> str:
    digest = hashlib.sha256()
    body = (client.get_object(Bucket=bucket, Key=key, VersionId=version_id) if version_id
            else client.get_object(Bucket=bucket, Key=key))["Body"]
    while chunk := body.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def capture_bucket(client: S3Client, bucket: str, prefix: str = "") -> S3Manifest:
    """Read every object under the prefix (read-only: s3:ListBucket, s3:GetObject)."""
    objects: dict[str, ObjectFacts] = {}
    captured_at = datetime.now(UTC)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = ObjectFacts(bytes=obj.get("Size", 0),
                                              sha256=object_sha256(client, bucket, obj["Key"]))
    return S3Manifest(captured_at=captured_at, bucket=bucket, prefix=prefix, objects=objects)


def save_manifest(manifest: S3Manifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")


def load_manifest(path: Path, *, store: str) -> S3Manifest:
    return read_manifest(path, S3Manifest, store=store, kind="s3",
                         capture_hint="capture it with `restoreproof capture s3`")
