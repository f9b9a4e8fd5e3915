"""An s3 store from an AWS Backup recovery point (the aws-backup source): AWS Backup restores it (StartRestoreJob)
into a new temporary bucket the harness creates first, tagged like every sandbox (so `restoreproof janitor` finds
it) and versioned; the restored bucket is compared with the manifest like an s3-bucket source's bucket; every
version in it and the bucket itself are deleted on every exit path. Deletion is registered before the bucket is
created, by the name the harness chose.

Restore testing: the bucket AWS Backup's restore-testing job created is compared in place and left to AWS Backup.

Phases: provision = creating the bucket and the restore request, restore = waiting for the restore job,
verify = listing and hashing the restored objects, teardown = emptying and deleting the bucket.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import (
    SANDBOX_TAG,
    backup_client,
    describe_error,
    permission_hint,
    sandbox_identifier,
    sandbox_tags,
)
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.aws_bucket import BUCKET_ACTIONS, delete_bucket
from verifiers.sandboxes.cleanup import cleanup_stack
from verifiers.sources.aws_backup import (
    RUNNING,
    RecoveryPoint,
    resource_name_of,
    settled_restore_job,
    start_restore_job,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


@dataclass
class RestoredBucket:
    client: S3Client
    store: str
    bucket: str
    region: str
    job_id: str = ""
    adopted: bool = False  # restore testing: AWS Backup made it and deletes it

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/"

    @property
    def info(self) -> SandboxInfo:
        details = {"bucket": self.bucket, "region": self.region, "restore_job": self.job_id}
        details |= ({"restored_by": f"AWS Backup restore job {self.job_id}",
                     "deleted_by": "AWS Backup (restore testing retention)"} if self.adopted
                    else {SANDBOX_TAG: self.bucket})
        return SandboxInfo(type="aws-s3-bucket", engine="s3", version="-", details=details)

    def listing(self, prefix: str) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = {"bytes": obj.get("Size", 0), "etag": obj.get("ETag", "")}
        return found


@contextlib.contextmanager
def adopted_bucket(client: S3Client, point: RecoveryPoint, store: str) -> Iterator[RestoredBucket]:
    """The bucket AWS Backup restored for restore testing; nothing is deleted on exit."""
    yield RestoredBucket(client, store, resource_name_of(point.adopted_arn), point.region, job_id=point.restore_job_id,
                         adopted=True)


@contextlib.contextmanager
def restored_bucket(client: S3Client, point: RecoveryPoint, store: str, *,
                    role: str | None) -> Iterator[RestoredBucket]:
    """Create the tagged bucket, start AWS Backup's restore into it (wait with `wait_restore_job`), delete on exit."""
    restored = RestoredBucket(client, store, sandbox_identifier(store), point.region)
    with cleanup_stack(log, store, "the temporary bucket") as cleanup:
        cleanup.callback(_delete_after_job, restored, point)
        _create(restored)
        restored.job_id = start_restore_job(
            backup_client(point.region or None, point.endpoint_url or None), point,
            {"DestinationBucketName": restored.bucket, "NewBucket": "false"}, role=role, store=store)
        yield restored


def _create(restored: RestoredBucket) -> None:
    try:
        if restored.region and restored.region != "us-east-1":  # us-east-1 refuses its own LocationConstraint
            restored.client.create_bucket(Bucket=restored.bucket, CreateBucketConfiguration={
                "LocationConstraint": restored.region})  # type: ignore[typeddict-item]
        else:
            restored.client.create_bucket(Bucket=restored.bucket)
        restored.client.put_bucket_tagging(Bucket=restored.bucket, Tagging={
            "TagSet": [dict(t) for t in sandbox_tags(restored.bucket, restored.store)]})  # type: ignore[misc]
        restored.client.put_bucket_versioning(Bucket=restored.bucket,
                                              VersioningConfiguration={"Status": "Enabled"})
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(f"store {restored.store}: cannot create the temporary bucket {restored.bucket} to restore "
                           f"into: {describe_error(exc)}", hint=permission_hint(exc, BUCKET_ACTIONS)) from None


def _delete_after_job(restored: RestoredBucket, point: RecoveryPoint) -> None:
    """Empty and delete the bucket once the restore job ended (AWS Backup writes into it until then); a job still
    running after the wait is named with the bucket to delete."""
    if restored.job_id:
        job = settled_restore_job(backup_client(point.region or None, point.endpoint_url or None), restored.job_id,
                                  store=restored.store)
        if job.status in RUNNING:
            raise SandboxError(f"store {restored.store}: AWS Backup restore job {restored.job_id} still writes into "
                               f"the temporary bucket {restored.bucket}; it was not deleted",
                               hint="delete it once the job ends (`restoreproof janitor --delete --older-than 1s` "
                               f"finds it by its tag {SANDBOX_TAG})")
    delete_bucket(restored.client, restored.bucket, store=restored.store)
