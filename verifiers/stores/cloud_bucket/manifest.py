"""The manifest of a GCS bucket or Azure container (or a prefix of one): every object name with its size and the
sha256 of its content, captured by streaming each object (constant memory). Same facts as the s3 manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from verifiers import __version__
from verifiers.atomic import write_text_atomically
from verifiers.manifests import read_manifest
from verifiers.stores.s3.manifest import ObjectFacts

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient
    from google.cloud.storage import Client

CloudKind = Literal["gcs", "azure-blob"]


class BucketManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    kind: CloudKind
    tool_version: str = __version__
    captured_at: datetime
    account_url: str | None = None  # azure-blob: the storage account
    bucket: str  # the GCS bucket or Azure container
    prefix: str
    objects: dict[str, ObjectFacts]


class ObjectReader(Protocol):
    """Read-only access to the objects under a prefix; raises the cloud SDK's own errors."""

    def sizes(self) -> Iterator[tuple[str, int]]: ...

    def sha256(self, name: str) -> str: ...


class _Sha256Sink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        return len(chunk)


class GcsReader:
    def __init__(self, client: Client, bucket: str, prefix: str) -> None:
        self._client, self._bucket, self._prefix = client, bucket, prefix

    def sizes(self) -> Iterator[tuple[str, int]]:
        for blob in self._client.list_blobs(self._bucket, prefix=self._prefix or None):
            yield str(blob.name), int(blob.size or 0)

    def sha256(self, name: str) -> str:
        sink = _Sha256Sink()  # the client writes the body in chunks: never the whole object in memory
        self._client.bucket(self._bucket).blob(name).download_to_file(sink, raw_download=True, checksum=None)
        return sink.digest.hexdigest()


class AzureReader:
    def __init__(self, container: ContainerClient, prefix: str) -> None:
        self._container, self._prefix = container, prefix

    def sizes(self) -> Iterator[tuple[str, int]]:
        for blob in self._container.list_blobs(name_starts_with=self._prefix or None):
            yield str(blob.name), int(blob.size or 0)

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        for chunk in self._container.download_blob(name).chunks():
            digest.update(chunk)
        return digest.hexdigest()


def capture_objects(reader: ObjectReader, *, kind: CloudKind, bucket: str, prefix: str,
                    account_url: str | None = None) -> BucketManifest:
    """Read every object under the prefix (read-only)."""
    captured_at = datetime.now(UTC)
    objects = {name: ObjectFacts(bytes=size, sha256=reader.sha256(name)) for name, size in reader.sizes()}
    return BucketManifest(kind=kind, captured_at=captured_at, account_url=account_url, bucket=bucket, prefix=prefix,
                          objects=objects)


def save_manifest(manifest: BucketManifest, path: Path) -> None:
    write_text_atomically(path, manifest.model_dump_json(indent=2) + "\n")


def load_manifest(path: Path, *, store: str, kind: CloudKind) -> BucketManifest:
    return read_manifest(path, BucketManifest, store=store, kind=kind,
                         capture_hint=f"capture it with `restoreproof capture {kind}`")
