"""Backup hygiene, read from the backup services' APIs (boto3): the mistakes that sink restores long before
anyone restores (the `aws` extra; verifiers/compliance/hygiene_plan.py names the checks without it). Each is one
check of the store, judged with observed vs expected:

- encryption: the newest backup is encrypted at rest (and with the configured KMS key)
- copy: a copy in a second region (RDS snapshot copies, or a replica bucket) no older than the RPO
- manual_copy: RDS keeps a manual or AWS Backup snapshot (automated ones vanish with the instance)
- retention: backups are kept at least `retention_days` (RDS retention period, S3 lifecycle rules, files kept)
- bucket: every S3 bucket holding backups has versioning, default encryption and public access blocked
- backup_jobs: AWS Backup jobs over the last N days completed at least `target` percent of the time
- backup_success: of the backups scheduled over the last N days, the share that completed, from the provider's own
  history, naming the days without one (verifiers/compliance/success_history.py)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import success_history
from verifiers.compliance.aws_points import aws_call, aws_error, rds_origin, rds_snapshots
from verifiers.compliance.configuration import kms_matches
from verifiers.compliance.recovery_points import file_points
from verifiers.compliance.settings import CopySettings, HygieneSettings
from verifiers.durations import format_duration
from verifiers.errors import SourceError
from verifiers.manifests import MANIFEST_SUFFIX
from verifiers.store_settings import (
    AnyStore,
    AwsSettings,
    DynamoDbBackupSource,
    FileSource,
    RdsSnapshotSource,
    S3Source,
)

FINISHED_OK = "COMPLETED"
FINISHED_BAD = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")  # CREATED, PENDING, RUNNING, ABORTING: not finished
LISTED = 20


def judge(store: AnyStore, spec: CheckSpec, now: datetime, base_dir: Path) -> CheckResult:
    settings = store.hygiene
    assert settings is not None
    judges: dict[str, Callable[[], CheckResult]] = {
        "encryption": lambda: encryption(store, settings),
        "copy": lambda: copy(store, settings, now),
        "manual_copy": lambda: manual_copy(store),
        "retention": lambda: retention(store, settings, now, base_dir),
        "bucket": lambda: bucket(store, spec.subject),
        "backup_jobs": lambda: backup_jobs(store, settings, now),
        "backup_success": lambda: success_history.judge(store, spec.subject, now),
    }
    return judges[spec.check]()


def _encryption_result(what: str, encrypted: bool, key: str, wanted: str | None) -> CheckResult:
    expected = f"encrypted with {wanted}" if wanted else "encrypted"
    observed = f"encrypted with {key or 'the default key'}" if encrypted else "not encrypted"
    if not encrypted:
        return CheckResult("encryption", "encryption", False, observed, expected, f"{what} is NOT encrypted at rest")
    if wanted and not kms_matches(wanted, key):
        return CheckResult("encryption", "encryption", False, observed, expected,
                           f"{what} is encrypted with {key or 'the default key'}, not with {wanted}")
    return CheckResult("encryption", "encryption", True, observed, expected, f"{what} is {observed}")


def encryption(store: AnyStore, settings: HygieneSettings) -> CheckResult:
    source = store.source
    if isinstance(source, RdsSnapshotSource):
        snapshots = rds_snapshots(source, store=store.name)
        if not snapshots:
            raise SourceError(f"store {store.name}: no available snapshot to inspect",
                              hint="check stores.source (instance/cluster, region, include)")
        newest = max(snapshots, key=lambda s: s.created)
        return _encryption_result(f"snapshot {newest.id}", newest.encrypted, newest.kms_key_id, settings.kms_key)
    if isinstance(source, S3Source):
        client = _s3(source.region, source.endpoint_url)
        key = _newest_key(client, source.bucket, source.prefix, source.pattern, store=store.name)
        if key is None:
            raise SourceError(f"store {store.name}: no backup object in s3://{source.bucket}/{source.prefix}",
                              hint="check stores.source.prefix and pattern")
        head = aws_call(store.name, f"cannot read s3://{source.bucket}/{key[0]}", "s3:GetObject",
                     lambda: client.head_object(Bucket=source.bucket, Key=key[0]))
        sse = str(head.get("ServerSideEncryption") or "")
        return _encryption_result(f"s3://{source.bucket}/{key[0]}", bool(sse), str(head.get("SSEKMSKeyId") or sse),
                                  settings.kms_key)
    assert isinstance(source, DynamoDbBackupSource)
    return _dynamodb_encryption(store, source, settings)


def _dynamodb_encryption(store: AnyStore, source: DynamoDbBackupSource, settings: HygieneSettings) -> CheckResult:
    from verifiers.aws import dynamodb_client

    client = dynamodb_client(source.region, source.endpoint_url)

    def newest() -> Any:
        pages = client.get_paginator("list_backups").paginate(TableName=source.table, BackupType="ALL")
        found = [b for p in pages for b in p.get("BackupSummaries", []) if b.get("BackupStatus") == "AVAILABLE"]
        return max(found, key=lambda b: b["BackupCreationDateTime"]) if found else None

    summary = aws_call(store.name, f"cannot list the backups of table {source.table}", "dynamodb:ListBackups", newest)
    if summary is None:
        raise SourceError(f"store {store.name}: table {source.table} has no available backup to inspect",
                          hint="check stores.source.table and region")
    described = aws_call(store.name, "cannot describe the backup", "dynamodb:DescribeBackup",
                      lambda: client.describe_backup(BackupArn=summary["BackupArn"]))
    sse = described["BackupDescription"].get("SourceTableFeatureDetails", {}).get("SSEDescription") or {}
    # DynamoDB always encrypts at rest: without an SSEDescription it is with an AWS owned key.
    return _encryption_result(f"backup {summary.get('BackupName') or summary['BackupArn']}", True,
                              str(sse.get("KMSMasterKeyArn") or ""), settings.kms_key)


def copy(store: AnyStore, settings: HygieneSettings, now: datetime) -> CheckResult:
    target = settings.copy_
    assert target is not None
    newest, what = newest_copy(store, target)
    if newest is None:
        return CheckResult("copy", target.region, False, None, round(store.rpo, 3),
                           f"no {what}: a regional outage would take every backup with it")
    age = (now - newest).total_seconds()
    passed = age <= store.rpo
    return CheckResult("copy", target.region, passed, round(age, 3), round(store.rpo, 3),
                       f"newest {what} is {format_duration(age)} old, {'within' if passed else 'OVER'} the target "
                       f"{format_duration(store.rpo)}")


def newest_copy(store: AnyStore, target: CopySettings) -> tuple[datetime | None, str]:
    """When the newest copy in `target` was made (None: there is none), and what a copy there is called."""
    source = store.source
    assert isinstance(source, RdsSnapshotSource | S3Source)  # the inventory allows `copy` on these only
    endpoint = target.endpoint_url or source.endpoint_url
    session = _assumed(store.name, target.role_arn, target.region, endpoint) if target.role_arn else None
    where = target.region + (f", account {target.role_arn.split(':')[4]}" if target.role_arn else "")
    if isinstance(source, RdsSnapshotSource):
        client = session.client("rds", endpoint_url=endpoint) if session else None
        found = rds_snapshots(source, store=store.name, kinds=("manual", "automated", "aws-backup"),
                              region=target.region, endpoint_url=target.endpoint_url, client=client)
        return max((s.created_at for s in found), default=None), f"snapshot copy in {where}"
    assert target.bucket is not None
    client = session.client("s3", endpoint_url=endpoint) if session else _s3(target.region, endpoint)
    key = _newest_key(client, target.bucket, source.prefix, source.pattern, store=store.name)
    return (key[1] if key else None), f"copy in s3://{target.bucket}/{source.prefix} ({where})"


def manual_copy(store: AnyStore) -> CheckResult:
    source = store.source
    assert isinstance(source, RdsSnapshotSource)
    kept, automated = kept_snapshots(store.name, source)
    if not kept:
        return CheckResult("manual_copy", "manual_copy", False, 0, ">= 1",
                           f"only automated snapshots ({len(automated)}): they are deleted with the instance; take a "
                           "manual snapshot or an AWS Backup copy")
    newest = max(kept, key=lambda s: s.created)
    return CheckResult("manual_copy", "manual_copy", True, len(kept), ">= 1",
                       f"{len(kept)} manual/AWS Backup snapshots, the newest {newest.id} of {newest.created}")


def kept_snapshots(store: str, source: RdsSnapshotSource) -> tuple[list[Any], list[Any]]:
    """The manual and AWS Backup snapshots (they outlive the instance), and the automated ones (they do not)."""
    return (rds_snapshots(source, store=store, kinds=("manual", "aws-backup")),
            rds_snapshots(source, store=store, kinds=("automated",)))


def retention(store: AnyStore, settings: HygieneSettings, now: datetime, base_dir: Path) -> CheckResult:
    days = settings.retention_days
    assert days is not None
    source = store.source
    if isinstance(source, RdsSnapshotSource):
        kept = int(describe_origin(store.name, source).get("BackupRetentionPeriod") or 0)
        return CheckResult("retention", "retention", kept >= days, f"{kept} days", f">= {days} days",
                           f"automated backups are kept {kept} days; at least {days} required")
    if isinstance(source, S3Source):
        return _lifecycle(store, source, days)
    assert isinstance(source, FileSource)
    points = file_points(source, base_dir)
    oldest = (now - min(points)).total_seconds() / 86400 if points else 0.0
    passed = oldest >= days
    return CheckResult("retention", "retention", passed, f"{oldest:.1f} days", f">= {days} days",
                       f"the oldest backup kept is {oldest:.1f} days old; backups must be kept {days} days"
                       + ("" if passed else " (a rotation deletes them sooner, or backups began recently)"))


def describe_origin(store: str, source: RdsSnapshotSource) -> Any:
    """The source's instance or cluster as DescribeDBInstances / DescribeDBClusters report it."""
    return rds_origin(source, store=store)


def lifecycle_expiries(store: str, source: S3Source) -> list[tuple[str, int]]:
    """Each enabled lifecycle expiry of the bucket that reaches the source's prefix: (what, days)."""
    client = _s3(source.region, source.endpoint_url)

    def rules() -> list[Any]:
        try:
            return list(client.get_bucket_lifecycle_configuration(Bucket=source.bucket).get("Rules", []))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
                return []
            raise

    found = aws_call(store, f"cannot read the lifecycle rules of {source.bucket}", "s3:GetLifecycleConfiguration",
                  rules)
    out: list[tuple[str, int]] = []
    for rule in found:
        prefix = str(rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")))
        overlaps = source.prefix.startswith(prefix) or prefix.startswith(source.prefix)
        if rule.get("Status") != "Enabled" or not overlaps:
            continue
        expiries = (("expires", rule.get("Expiration", {}).get("Days")),
                    ("expires old versions", rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")))
        out += [(f"rule {rule.get('ID', '?')} {label}", int(value)) for label, value in expiries if value is not None]
    return out


def _lifecycle(store: AnyStore, source: S3Source, days: int) -> CheckResult:
    short = [f"{what} after {value} days" for what, value in lifecycle_expiries(store.name, source) if value < days]
    if short:
        return CheckResult("retention", "retention", False, short, f">= {days} days",
                           f"s3://{source.bucket}/{source.prefix}: " + "; ".join(short) + f" (< {days} days)")
    return CheckResult("retention", "retention", True, "no shorter expiry rule", f">= {days} days",
                       f"no lifecycle rule of {source.bucket} expires backups under {source.prefix!r} before "
                       f"{days} days")


def bucket(store: AnyStore, subject: str) -> CheckResult:
    name, _, aspect = subject.partition(" ")
    aws = store.source if isinstance(store.source, AwsSettings) else None  # else the AWS config chain's
    client = _s3(aws.region if aws else None, aws.endpoint_url if aws else None)
    if aspect == "versioning":
        status = aws_call(store.name, f"cannot read the versioning of {name}", "s3:GetBucketVersioning",
                       lambda: client.get_bucket_versioning(Bucket=name).get("Status") or "Disabled")
        return CheckResult("bucket", subject, status == "Enabled", status, "Enabled",
                           f"s3://{name}: versioning {status}" + ("" if status == "Enabled" else
                                                                 ": a deleted or overwritten backup is gone for good"))
    if aspect == "encryption":
        algorithms = [r["SSEAlgorithm"] for r in default_encryption(store.name, client, name)]
        shown = ", ".join(algorithms or []) or "none"
        return CheckResult("bucket", subject, bool(algorithms), shown, "a default encryption rule",
                           f"s3://{name}: default encryption {shown}")
    block = _optional(store.name, name, "public access block", "s3:GetBucketPublicAccessBlock",
                      "NoSuchPublicAccessBlockConfiguration",
                      lambda: client.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"])
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    off = [f for f in flags if not (block or {}).get(f)]
    return CheckResult("bucket", subject, not off, "all blocked" if not off else [f"{f} off" for f in off],
                       "all four settings on",
                       f"s3://{name}: public access " + ("blocked" if not off else "NOT blocked: " + ", ".join(off)))


def default_encryption(store: str, client: Any, name: str) -> list[Any]:
    """The bucket's default encryption rules (ApplyServerSideEncryptionByDefault: SSEAlgorithm, KMSMasterKeyID);
    none when it has no default encryption configured."""
    found = _optional(store, name, "encryption", "s3:GetEncryptionConfiguration",
                      "ServerSideEncryptionConfigurationNotFoundError",
                      lambda: [r["ApplyServerSideEncryptionByDefault"] for r in
                               client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
                               if "ApplyServerSideEncryptionByDefault" in r])
    return list(found or [])


def replication_destinations(store: str, client: Any, name: str,
                             prefix: str) -> tuple[str | None, list[tuple[str, str | None]]]:
    """The account of the bucket's replication role (the bucket owner's: S3 assumes a role of the source's
    account; None without replication), and where its enabled replication rules reaching `prefix` copy to: the
    destination bucket ARN, and its account when the rule names one (None: the bucket's own)."""
    config = _optional(store, name, "replication configuration", "s3:GetReplicationConfiguration",
                       "ReplicationConfigurationNotFoundError",
                       lambda: client.get_bucket_replication(Bucket=name)["ReplicationConfiguration"])
    role = str((config or {}).get("Role") or "").split(":")
    out: list[tuple[str, str | None]] = []
    for rule in (config or {}).get("Rules", []):
        ruled = str(rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")))
        if rule.get("Status") != "Enabled" or not (prefix.startswith(ruled) or ruled.startswith(prefix)):
            continue
        destination = rule.get("Destination", {})
        out.append((str(destination.get("Bucket", "?")), str(destination["Account"]) if destination.get("Account")
                    else None))
    return (role[4] or None) if len(role) > 4 else None, out


def bucket_region(store: str, client: Any, name: str) -> str:
    """The region of bucket `name` (GetBucketLocation); SourceError names s3:GetBucketLocation when denied."""
    answer = aws_call(store, f"cannot read the region of bucket {name}", "s3:GetBucketLocation",
                      lambda: client.get_bucket_location(Bucket=name))
    return location_region(answer.get("LocationConstraint"))


def location_region(constraint: str | None) -> str:
    """A bucket's LocationConstraint as a region: S3 answers None for us-east-1 and EU for eu-west-1."""
    return "eu-west-1" if constraint == "EU" else constraint or "us-east-1"


def backup_jobs(store: AnyStore, settings: HygieneSettings, now: datetime) -> CheckResult:
    jobs_settings = settings.backup_jobs
    assert jobs_settings is not None
    client = backup_client(jobs_settings.region, jobs_settings.endpoint_url)
    query: dict[str, Any] = {"ByCreatedAfter": now - timedelta(days=jobs_settings.days)}
    if jobs_settings.vault:
        query["ByBackupVaultName"] = jobs_settings.vault
    if jobs_settings.resource_arn:
        query["ByResourceArn"] = jobs_settings.resource_arn
    jobs = success_history.list_backup_jobs(store.name, client, query)
    return judge_jobs(jobs, target=jobs_settings.target, days=jobs_settings.days)


def judge_jobs(jobs: list[Any], *, target: float, days: int) -> CheckResult:
    ok = [j for j in jobs if j.get("State") == FINISHED_OK]
    bad = [j for j in jobs if j.get("State") in FINISHED_BAD]
    finished = len(ok) + len(bad)
    expected = f">= {target:g}%"
    if not finished:
        return CheckResult("backup_jobs", "backup_jobs", False, None, expected,
                           f"no AWS Backup job finished in the last {days} days: backups are not running")
    rate = 100.0 * len(ok) / finished
    passed = rate >= target
    message = f"{len(ok)} of {finished} AWS Backup jobs in the last {days} days completed ({rate:.3f}%)"
    if bad:
        listed = [f"{j.get('BackupJobId', '?')} {j.get('State')} ({j.get('ResourceArn', '?')})" for j in bad[:LISTED]]
        message += "; failed: " + "; ".join(listed) + (f" and {len(bad) - LISTED} more" if len(bad) > LISTED else "")
    return CheckResult("backup_jobs", "backup_jobs", passed, round(rate, 3), expected, message)


def backup_client(region: str | None, endpoint_url: str | None) -> Any:
    """An AWS Backup client (boto3-stubs has no backup stubs installed here: typed Any)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session(region_name=region).client(
        "backup", endpoint_url=endpoint_url, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def _assumed(store: str, role_arn: str, region: str, endpoint_url: str | None) -> Any:
    """A session with the credentials of `role_arn` (the account holding the copies), for 15 minutes."""
    import boto3

    sts = boto3.session.Session(region_name=region).client("sts", endpoint_url=endpoint_url)
    credentials = aws_call(store, f"cannot assume {role_arn}", "sts:AssumeRole on that role", lambda: sts.assume_role(
        RoleArn=role_arn, RoleSessionName="restoreproof-hygiene", DurationSeconds=900)["Credentials"])
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=region)


def _s3(region: str | None, endpoint_url: str | None) -> Any:
    from verifiers.aws import s3_client

    return s3_client(region, endpoint_url)


def _newest_key(client: Any, bucket_name: str, prefix: str, pattern: str, *, store: str) -> tuple[str, datetime] | None:
    def newest() -> tuple[str, datetime] | None:
        best: tuple[str, datetime] | None = None
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket_name, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith((MANIFEST_SUFFIX, "/")) or not fnmatch.fnmatchcase(key[len(prefix):], pattern):
                    continue
                when = obj["LastModified"].astimezone(UTC)
                if best is None or (when, key) > (best[1], best[0]):
                    best = (key, when)
        return best

    found: tuple[str, datetime] | None = aws_call(store, f"cannot list s3://{bucket_name}/{prefix}", "s3:ListBucket",
                                               newest)
    return found


def _optional(store: str, bucket_name: str, what: str, actions: str, absent: str, fn: Callable[[], Any]) -> Any:
    """The bucket's setting, or None when the bucket has none (AWS answers with an error code for that)."""
    try:
        return fn()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == absent:
            return None
        raise aws_error(store, f"cannot read the {what} of {bucket_name}", exc, actions) from None
    except BotoCoreError as exc:
        raise aws_error(store, f"cannot read the {what} of {bucket_name}", exc, actions) from None
