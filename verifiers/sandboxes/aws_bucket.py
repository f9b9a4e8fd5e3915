"""A temporary S3 bucket the harness made (tagged like every sandbox): emptied of every object version and delete
marker, then deleted. Used by the s3 store's AWS Backup restores and by `restoreproof janitor`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import SANDBOX_TAG, describe_error, error_code, permission_hint
from verifiers.errors import SandboxError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
BUCKET_ACTIONS = ("s3:CreateBucket, s3:PutBucketTagging, s3:PutBucketVersioning, s3:ListBucket, "
                  "s3:ListBucketVersions, s3:GetObject, s3:DeleteObject, s3:DeleteObjectVersion, s3:DeleteBucket")
_DELETE_BATCH = 1000  # DeleteObjects' limit per request


def delete_bucket(client: S3Client, bucket: str, *, store: str) -> None:
    """Every object version and delete marker, then the bucket; a bucket already gone is fine."""
    try:
        doomed: list[dict[str, str]] = []
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                doomed.append({"Key": entry["Key"], "VersionId": entry.get("VersionId", "null")})
        for start in range(0, len(doomed), _DELETE_BATCH):
            batch = doomed[start:start + _DELETE_BATCH]
            answer = client.delete_objects(Bucket=bucket,
                                           Delete={"Objects": batch, "Quiet": True})  # type: ignore[typeddict-item]
            if answer.get("Errors"):
                raise SandboxError(f"store {store}: could not delete {len(answer['Errors'])} objects of the "
                                   f"temporary bucket {bucket}: {answer['Errors'][0].get('Code', '')}",
                                   hint=f"delete it now: `aws s3 rb --force s3://{bucket}` (versions too)")
        client.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return
        raise _delete_error(store, bucket, exc) from None
    except BotoCoreError as exc:
        raise _delete_error(store, bucket, exc) from None
    log.info("store %s: deleted temporary bucket %s (%d object versions)", store, bucket, len(doomed))


def _delete_error(store: str, bucket: str, exc: ClientError | BotoCoreError) -> SandboxError:
    return SandboxError(f"store {store}: could not delete the temporary bucket {bucket}: {describe_error(exc)}",
                        hint=permission_hint(exc, BUCKET_ACTIONS) or "delete it now (`restoreproof janitor --delete "
                        f"--older-than 1s` finds it by its tag {SANDBOX_TAG})")
