"""Archive runs off the runner: copy each sealed run to S3 under PREFIX/YYYY-MM/<run-id>/.

Each object is sent with its SHA-256 (S3 rejects a body that does not match) taken from the run's
SHA256SUMS, so what lands is what was sealed; with Object Lock retention in compliance mode when the bucket
has Object Lock enabled. A run is never overwritten: its objects are created only-if-absent, SHA256SUMS last;
a run already archived identically is skipped, one archived differently is refused. A run that fails its own
SHA256SUMS locally is refused too (run `restoreproof evidence verify` for the chain).
The endpoint comes from --endpoint-url or AWS_ENDPOINT_URL, credentials and region from the standard AWS chain.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.errors import EvidenceError
from verifiers.evidence import chain
from verifiers.evidence.archive import S3Location, UploadReport
from verifiers.evidence.defaults import DEFAULT_RETENTION_DAYS

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client



def s3_client(endpoint_url: str | None) -> S3Client:
    """An S3 client from the standard AWS chain; endpoint from the argument, else AWS_ENDPOINT_URL."""
    import boto3

    try:
        return boto3.client("s3", endpoint_url=endpoint_url or None)
    except (BotoCoreError, ValueError) as exc:
        raise EvidenceError(f"cannot create an S3 client: {exc}",
                            hint="check AWS_PROFILE / AWS_REGION and --endpoint-url") from None


def upload_runs(root: Path, destination: S3Location, *, client: S3Client, retention_days: int = DEFAULT_RETENTION_DAYS,
                now: datetime | None = None, say: Callable[[str], None] = print) -> UploadReport:
    if retention_days < 0:
        raise EvidenceError(f"--retention-days {retention_days} is negative", hint="give 0 for no retention")
    runs = chain.runs_to_upload(root)
    report = UploadReport()
    try:
        if retention_days and object_lock_enabled(client, destination.bucket):
            moment = (now or datetime.now(UTC)).replace(microsecond=0)
            report.retention_until = moment + timedelta(days=retention_days)
        elif retention_days:
            say(f"warning: bucket {destination.bucket} has no Object Lock: runs are uploaded without retention "
                "(create the bucket with Object Lock enabled to make the archive immutable)")
        for directory in runs:
            _upload_run(root, directory, destination, client, report, say)
    except BotoCoreError as exc:
        report.refused.append(f"{destination}: S3 unreachable or misconfigured: {exc} — check --endpoint-url / "
                              "AWS_ENDPOINT_URL, the network and the AWS credentials")
    return report


def object_lock_enabled(client: S3Client, bucket: str) -> bool:
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)
    except ClientError as exc:
        if _code(exc) == "ObjectLockConfigurationNotFoundError":
            return False
        raise EvidenceError(f"s3://{bucket}: cannot read its Object Lock configuration: {_code(exc)}",
                            hint="check the bucket name and s3:GetBucketObjectLockConfiguration permission, or "
                                 "pass --retention-days 0 to upload without retention") from None
    return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"


def _message(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Message", exc))


def _code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", type(exc).__name__))


def _upload_run(root: Path, directory: Path, destination: S3Location, client: S3Client, report: UploadReport,
                say: Callable[[str], None]) -> None:
    rel = directory.relative_to(root).as_posix()
    problems = chain.check_run(root, directory).problems
    sums_path = directory / chain.SUMS
    if problems:
        report.refused.append(f"{rel}: not uploaded, it fails its own seal: {problems[0]}")
        return
    remote = _remote_sums(client, destination, rel)
    if remote is not None:
        if remote == sums_path.read_bytes():
            report.skipped.append(rel)
            say(f"{rel}: already archived at {destination}/{rel}/, identical: skipped")
        else:
            report.refused.append(f"{rel}: refused: {destination}/{rel}/ already holds a different run (its "
                                  f"SHA256SUMS differs); archived runs are never overwritten")
        return
    entries, _ = chain.read_sums(sums_path)
    names = [*sorted(entries), *([chain.SIGNATURE] if (directory / chain.SIGNATURE).is_file() else []), chain.SUMS]
    for name in names:
        problem = _put(client, destination, rel, directory / name, entries.get(name), report.retention_until)
        if problem:
            report.refused.append(f"{rel}/{name}: {problem}")
            return
    report.uploaded.append(rel)
    lock = f", retained (compliance) until {report.retention_until:%Y-%m-%d}" if report.retention_until else ""
    say(f"{rel}: uploaded {len(names)} files to {destination}/{rel}/ with SHA-256 checksums{lock}")


def _remote_sums(client: S3Client, destination: S3Location, rel: str) -> bytes | None:
    try:
        response = client.get_object(Bucket=destination.bucket, Key=destination.key(rel, chain.SUMS))
    except ClientError as exc:
        if _code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise EvidenceError(f"{destination}/{rel}/{chain.SUMS}: cannot check for an archived copy: {_code(exc)}",
                            hint="check the bucket, the credentials and s3:GetObject permission") from None
    return response["Body"].read()


def put_once(client: S3Client, destination: S3Location, rel: str, path: Path, sha256: str,
             retain_until: datetime | None) -> str | None:
    """Create the archive path `rel` (its last part is `path`'s name) only if absent; None when done or already
    there identically, else why not ("refused: …" when other content is there)."""
    parent, _, name = rel.rpartition("/")
    assert name == path.name, (rel, path)
    return _put(client, destination, parent, path, sha256, retain_until)


def _put(client: S3Client, destination: S3Location, rel: str, path: Path, sealed_sha256: str | None,
         retain_until: datetime | None) -> str | None:
    """Create one object only if absent, sent with the digest the run was sealed with (S3 rejects a body that
    does not match it); None when done, else why not."""
    body = path.read_bytes()
    digest = bytes.fromhex(sealed_sha256) if sealed_sha256 else hashlib.sha256(body).digest()
    checksum = base64.b64encode(digest).decode()
    # Content-MD5 too: Object Lock writes require it (or an SDK checksum) on some S3 implementations.
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
    extra: dict[str, Any] = {}
    if retain_until is not None:
        extra = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}
    key = destination.key(rel, path.name)
    try:
        response = client.put_object(
            Bucket=destination.bucket, Key=key, Body=body, IfNoneMatch="*", ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum, ContentMD5=md5, ContentType=mimetypes.guess_type(path.name)[0] or "text/plain",
            **extra)
    except ClientError as exc:
        if _code(exc) == "PreconditionFailed":
            return _same_object(client, destination.bucket, key, digest)
        return (f"upload failed: {_code(exc)}: {_message(exc)} (check s3:PutObject and s3:PutObjectRetention "
                "permissions)")
    if response.get("ChecksumSHA256") != checksum:
        return (f"s3://{destination.bucket}/{key}: S3 did not confirm the SHA-256 checksum (got "
                f"{response.get('ChecksumSHA256')!r}): check that nothing between here and S3 strips checksum headers")
    return None


def _same_object(client: S3Client, bucket: str, key: str, digest: bytes) -> str | None:
    """An object already there (an interrupted upload of this run): fine when it is the same bytes."""
    head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    if head.get("ChecksumSHA256") == base64.b64encode(digest).decode():
        return None
    return f"refused: s3://{bucket}/{key} already exists with other content; archived runs are never overwritten"
