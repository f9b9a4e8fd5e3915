"""A real restore of a bucket's backup: every object of the listing (the as-of version when there is one) copied
server-side into a uniquely named scratch prefix, and the whole prefix (every version of it) deleted when the
context exits, on success, failure and interruption alike. Deletion is registered before the first copy.

Each object is copied by boto3's managed copy (`client.copy`): one CopyObject below the threshold, a multipart
copy in parallel parts above it, so objects over S3's 5 GiB CopyObject limit copy too (verifiers/aws.py).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import (
    COPY_PART,
    COPY_THRESHOLD,
    describe_error,
    permission_hint,
    transfer_cause,
    transfer_config,
    transfer_errors,
)
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.cleanup import cleanup_stack

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
COPY_ACTIONS = ("s3:GetObject, s3:GetObjectVersion (source); s3:PutObject, s3:AbortMultipartUpload, s3:ListBucket, "
                "s3:ListBucketVersions, s3:DeleteObject, s3:DeleteObjectVersion (scratch bucket)")
_DELETE_BATCH = 1000  # DeleteObjects' limit per request


@dataclass
class ScratchCopy:
    client: S3Client
    store: str
    source_bucket: str
    source_prefix: str
    bucket: str
    prefix: str  # the per-run scratch prefix, ending in /
    transfer: TransferConfig  # when a copy is multipart, and in what parts
    copied: int = 0
    keys: dict[str, str] = field(default_factory=dict)  # scratch key -> source key

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="s3-scratch-prefix", engine="s3", version="-",
                           details={"scratch": self.location, "copied_objects": str(self.copied),
                                    "copied_from": f"s3://{self.source_bucket}/{self.source_prefix}"})

    def scratch_key(self, key: str) -> str:
        return self.prefix + key.removeprefix(self.source_prefix)

    def copy(self, listing: Mapping[str, Mapping[str, Any]]) -> None:
        for key, facts in sorted(listing.items()):
            source: dict[str, str] = {"Bucket": self.source_bucket, "Key": key}
            if facts.get("version_id") not in (None, "", "null"):
                source["VersionId"] = str(facts["version_id"])
            target = self.scratch_key(key)
            self.keys[target] = key
            try:
                self.client.copy(source, self.bucket, target, Config=self.transfer)  # type: ignore[arg-type]
            except transfer_errors() as exc:
                cause = transfer_cause(exc)
                raise SandboxError(f"store {self.store}: cannot copy s3://{self.source_bucket}/{key} into "
                                   f"{self.location}: {describe_error(cause)}",
                                   hint=permission_hint(cause, COPY_ACTIONS) or "check stores.restore") from None
            self.copied += 1

    def listing(self) -> dict[str, dict[str, object]]:
        """The copy, keyed by the source key it came from (extra objects keep their scratch-relative key)."""
        found: dict[str, dict[str, object]] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                key = self.keys.get(obj["Key"], self.source_prefix + obj["Key"].removeprefix(self.prefix))
                found[key] = {"bytes": obj.get("Size", 0), "etag": obj.get("ETag", "")}
        return found

    def delete(self) -> None:
        """Every version and delete marker under the scratch prefix (a versioned bucket keeps deleted objects)."""
        try:
            doomed: list[dict[str, str]] = []
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket,
                                                                                   Prefix=self.prefix):
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    doomed.append({"Key": entry["Key"], "VersionId": entry.get("VersionId", "null")})
            for start in range(0, len(doomed), _DELETE_BATCH):
                batch = doomed[start:start + _DELETE_BATCH]
                answer = self.client.delete_objects(Bucket=self.bucket,
                                                    Delete={"Objects": batch, "Quiet": True})  # type: ignore[typeddict-item]
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise SandboxError(f"store {self.store}: could not delete {len(answer['Errors'])} objects of "
                                       f"the scratch prefix {self.location}: {first.get('Code', '')}",
                                       hint=f"delete them now: `aws s3 rm --recursive {self.location}`")
        except (ClientError, BotoCoreError) as exc:
            raise SandboxError(f"store {self.store}: could not delete the scratch prefix {self.location}: "
                               f"{describe_error(exc)}",
                               hint=f"delete it now: `aws s3 rm --recursive {self.location}`; "
                               f"{permission_hint(exc, COPY_ACTIONS)}") from None
        log.info("store %s: deleted scratch prefix %s (%d objects)", self.store, self.location, len(doomed))


def run_prefix(base: str) -> str:
    """`<base><UTC time>-<random>/`: unique per run, and sortable so stale ones are easy to spot."""
    return f"{base}{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}/"


@contextlib.contextmanager
def scratch_copy(client: S3Client, listing: Mapping[str, Mapping[str, Any]], *, store: str, source_bucket: str,
                 source_prefix: str, bucket: str, base_prefix: str,
                 transfer: TransferConfig | None = None) -> Iterator[ScratchCopy]:
    """Copy `listing` into a fresh scratch prefix (the restore), yield it, delete it on every exit path.
    `transfer`: when a copy is multipart and in what parts (by default above 5 GiB, in 256 MiB parts)."""
    transfer = transfer or transfer_config(threshold=COPY_THRESHOLD, part=COPY_PART)
    scratch = ScratchCopy(client, store, source_bucket, source_prefix, bucket, run_prefix(base_prefix), transfer)
    with cleanup_stack(log, store, "the scratch prefix") as cleanup:
        cleanup.callback(scratch.delete)
        scratch.copy(listing)
        yield scratch
