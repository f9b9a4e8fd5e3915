"""An archive in S3 (s3://BUCKET/PREFIX): objects created only if absent (`If-None-Match: *`, a conditional write
S3 honours atomically), each sent with its SHA-256 so S3 rejects a body that differs, under Object Lock
retention in compliance mode when the bucket has Object Lock enabled (verifiers/evidence/upload.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.errors import EvidenceError
from verifiers.evidence.archive import REPLACEABLE, ArchiveConflict, S3Location
from verifiers.evidence.defaults import DEFAULT_RETENTION_DAYS
from verifiers.evidence.upload import object_lock_enabled, put_once, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


class S3Archive:
    def __init__(self, location: S3Location, *, client: S3Client | None = None, endpoint_url: str | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.location = location
        self.url = str(location)
        self.client = client or s3_client(endpoint_url)
        self.retention_days = retention_days

    def mirror(self, into: Path) -> None:
        self.fetch(self.paths(), into)

    def paths(self) -> list[str]:
        found = []
        with self._reading():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket,
                                                                               Prefix=self._prefix):
                found += [item["Key"][len(self._prefix):] for item in page.get("Contents", [])]
        return [rel for rel in found if rel and not rel.endswith("/")]

    def fetch(self, paths: Collection[str], into: Path) -> None:
        with self._reading():
            for rel in paths:
                target = into / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.client.get_object(Bucket=self.location.bucket,
                                                          Key=self._prefix + rel)["Body"].read())

    @property
    def _prefix(self) -> str:
        return self.location.key("") + "/" if self.location.prefix else ""

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            raise EvidenceError(f"archive {self.url}: cannot be read: {exc}",
                                hint="check the bucket, the credentials (s3:ListBucket, s3:GetObject) and "
                                     "--endpoint-url / AWS_ENDPOINT_URL") from None

    def publish(self, files: Mapping[str, Path], *, message: str) -> None:
        try:
            retain_until = None
            if self.retention_days and object_lock_enabled(self.client, self.location.bucket):
                retain_until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=self.retention_days)
            for rel, path in files.items():
                if rel in REPLACEABLE:
                    self.client.put_object(Bucket=self.location.bucket, Key=self.location.key(rel),
                                           Body=path.read_bytes(), ContentType="text/html" if rel.endswith(
                                               ".html") else "application/json")
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                problem = put_once(self.client, self.location, rel, path, digest, retain_until)
                if problem and problem.startswith("refused:"):
                    raise ArchiveConflict(f"archive {self.url}: {rel}: {problem}")
                if problem:
                    raise EvidenceError(f"archive {self.url}: {rel}: {problem}")
        except BotoCoreError as exc:
            raise EvidenceError(f"archive {self.url}: S3 unreachable or misconfigured: {exc}",
                                hint="check --endpoint-url / AWS_ENDPOINT_URL, the network and the "
                                     "credentials") from None
