"""AWS Backup recovery points: the newest COMPLETED one of a protected resource in a vault, or one by ARN.

What a recovery point is depends on the resource: an RDS / Aurora recovery point *is* a DB (cluster) snapshot,
and a DynamoDB one made by DynamoDB's own backups *is* a DynamoDB backup, so `locate` describes that snapshot or
backup too and the store kinds restore it the way they restore an rds-snapshot or dynamodb-backup source. An
S3 recovery point, or a DynamoDB one managed by AWS Backup ("advanced" backups), is restored with StartRestoreJob
(verifiers/stores/s3/backup_restore.py, verifiers/stores/dynamodb/backup_restore.py).

Restore testing: when the run was started for an AWS Backup restore-testing job (env RESTOREPROOF_AWS_BACKUP_RESTORE_
JOB, set by `verify --aws-backup-restore-job`), AWS Backup has already restored the resource: `locate` takes the
job's recovery point and the resource it created (CreatedResourceArn), which the kinds verify in place and leave to
AWS Backup to delete. The verdict goes back with PutRestoreValidationResult (`report_restore_test`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from botocore.waiter import WaiterModel, create_waiter_with_client

from verifiers.aws import (
    backup_client,
    describe_error,
    dynamodb_client,
    error_code,
    permission_hint,
    waiter_config,
)
from verifiers.checks import CheckResult
from verifiers.errors import SourceError
from verifiers.redaction import redact_secrets
from verifiers.sources import Artifact, Located
from verifiers.sources.dynamodb_backup import Backup, DynamoDbBackups, find_backup
from verifiers.sources.rds_snapshot import RdsSnapshots
from verifiers.sources.s3 import manifest_file
from verifiers.store_settings import AwsBackupSource, DynamoDbBackupSource, RdsRestoreSettings, RdsSnapshotSource

if TYPE_CHECKING:
    from mypy_boto3_backup import BackupClient

RESTORE_JOB_ENV = "RESTOREPROOF_AWS_BACKUP_RESTORE_JOB"
DESCRIBE_ACTIONS = "backup:ListRecoveryPointsByBackupVault and backup:DescribeRecoveryPoint"
RESTORE_TEST_ACTIONS = "backup:DescribeRestoreJob and backup:PutRestoreValidationResult"
RESTORE_ACTIONS = ("backup:StartRestoreJob, backup:DescribeRestoreJob, backup:GetRecoveryPointRestoreMetadata and "
                   "iam:PassRole on stores.source.iam_role_arn")
COMPLETED = "COMPLETED"
RDS_TYPES = ("RDS", "Aurora")
CONTINUOUS_HINT = ('use recovery_point = "latest" (the newest snapshot-backed point), or, to restore to a point in '
                   "time, an rds-snapshot source with restore_to (docs/aws.md): it restores the same continuous "
                   "backups")
RUNNING = ("PENDING", "RUNNING")
SETTLE_SECONDS = 1800.0  # how long a teardown waits for a restore job it must outlast
TESTING_JOB_HINT = f"check the job id ({RESTORE_JOB_ENV} / --aws-backup-restore-job) and the source's region"
# The API documents no limit for ValidationStatusMessage; the console shows a line or two. Kept short on purpose.
MESSAGE_LIMIT = 1000
POLL_SECONDS = 30
_NOT_FOUND = {"ResourceNotFoundException", "InvalidParameterValueException"}
# DescribeRestoreJob until the job ends: botocore's waiter machinery, with a model (Backup ships no waiters)
_RESTORE_JOB_WAITER = {"version": 2, "waiters": {"RestoreJobDone": {
    "operation": "DescribeRestoreJob", "delay": POLL_SECONDS, "maxAttempts": 120,
    "acceptors": [{"matcher": "path", "argument": "Status", "expected": COMPLETED, "state": "success"},
                  {"matcher": "path", "argument": "Status", "expected": "FAILED", "state": "failure"},
                  {"matcher": "path", "argument": "Status", "expected": "ABORTED", "state": "failure"}]}}}


@dataclass(frozen=True)
class RecoveryPoint:
    """What the harness needs of a recovery point; field names apart from a Snapshot's and a Backup's, whose
    details travel in the same Located.details."""

    recovery_point_arn: str
    vault: str
    resource_arn: str
    resource_type: str
    resource_name: str
    point_status: str
    point_created: str  # ISO 8601 UTC
    point_bytes: int
    point_encrypted: bool
    point_kms_key: str
    region: str
    endpoint_url: str
    restore_job_id: str = ""  # restore testing: the job whose restored resource is verified
    adopted_arn: str = ""  # restore testing: that resource (CreatedResourceArn)
    adopted_restore_seconds: float = 0.0  # restore testing: how long AWS Backup's restore took (the job's times)

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.point_created)

    @property
    def identity_sha256(self) -> str:
        keep = ("recovery_point_arn", "vault", "resource_arn", "resource_type", "point_created", "point_bytes",
                "point_encrypted", "point_kms_key")
        return hashlib.sha256(json.dumps({k: v for k, v in asdict(self).items() if k in keep},
                                         sort_keys=True).encode()).hexdigest()

    @property
    def continuous(self) -> bool:
        """A continuous backup (point-in-time recovery), arn:aws:backup:…:recovery-point:continuous:db-… (or
        cluster-…): RDS's automated backups under AWS Backup, not a DB snapshot."""
        return ":recovery-point:continuous:" in self.recovery_point_arn

    @property
    def native_dynamodb_backup(self) -> bool:
        """A DynamoDB recovery point that is a DynamoDB backup (arn:aws:dynamodb:…:table/T/backup/…), restorable
        with RestoreTableFromBackup; an AWS-Backup-managed one is arn:aws:backup:…:recovery-point:…"""
        return self.recovery_point_arn.split(":")[2:3] == ["dynamodb"]

    def details(self) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in asdict(self).items()}

    def evidence(self) -> dict[str, str]:
        found = {"recovery_point_arn": self.recovery_point_arn, "backup_vault": self.vault,
                 "protected_resource": f"{self.resource_type} {self.resource_arn}",
                 "recovery_point_created": self.point_created,
                 "recovery_point_encrypted": str(self.point_encrypted).lower(),
                 "recovery_point_kms_key": self.point_kms_key or "-"}
        if self.restore_job_id:
            found |= {"restore_testing_job": self.restore_job_id, "adopted_resource": self.adopted_arn,
                      "adopted_resource_deleted_by": "AWS Backup (restore testing)",
                      "restore_seconds_by_aws_backup": f"{self.adopted_restore_seconds:.0f}"}
        return found

    @classmethod
    def from_details(cls, details: Mapping[str, str]) -> RecoveryPoint:
        raw: dict[str, Any] = {k: details[k] for k in cls.__dataclass_fields__ if k in details}
        return cls(**{**raw, "point_bytes": int(raw["point_bytes"]),
                      "point_encrypted": raw["point_encrypted"] == "true",
                      "adopted_restore_seconds": float(raw.get("adopted_restore_seconds", 0.0))})


@dataclass(frozen=True)
class RestoreJob:
    id: str
    status: str
    status_message: str
    recovery_point_arn: str
    source_resource_arn: str
    created_resource_arn: str
    resource_type: str
    seconds: float  # from creation to completion (0 while it runs)
    vault: str  # the vault of its recovery point ("" when not said)


def resource_name_of(arn: str) -> str:
    """The name in a resource ARN: db:NAME, cluster:NAME, table/NAME, arn:aws:s3:::NAME."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def restore_job_id() -> str | None:
    return os.environ.get(RESTORE_JOB_ENV) or None


def _point(raw: Any, source: AwsBackupSource, region: str) -> RecoveryPoint:
    created = raw.get("CreationDate")
    when = created if isinstance(created, datetime) else datetime.now(UTC)
    arn = str(raw.get("ResourceArn", ""))
    return RecoveryPoint(
        recovery_point_arn=raw["RecoveryPointArn"], vault=raw.get("BackupVaultName", source.vault), resource_arn=arn,
        resource_type=str(raw.get("ResourceType", "")), resource_name=str(raw.get("ResourceName") or
                                                                          resource_name_of(arn)),
        point_status=str(raw.get("Status", "")), point_created=when.astimezone(UTC).isoformat(),
        point_bytes=int(raw.get("BackupSizeInBytes") or 0), point_encrypted=bool(raw.get("IsEncrypted")),
        point_kms_key=str(raw.get("EncryptionKeyArn", "")), region=region, endpoint_url=source.endpoint_url or "")


def _resource(source: AwsBackupSource) -> str:
    return source.resource_arn or f"{source.resource_type} {source.resource_name}"


def _matches(source: AwsBackupSource, resource_arn: str, resource_type: str, name: str) -> bool:
    if source.resource_arn is not None:
        return resource_arn == source.resource_arn
    return resource_type == source.resource_type and name == source.resource_name


def _backup_error(store: str, what: str, exc: ClientError | BotoCoreError, actions: str, hint: str) -> SourceError:
    return SourceError(f"store {store}: {what}: {describe_error(exc)}", hint=permission_hint(exc, actions) or hint)


def find_recovery_point(client: BackupClient, source: AwsBackupSource, *, store: str) -> RecoveryPoint:
    """The recovery point the inventory names: the newest COMPLETED one of the resource, or one by ARN (which
    must be COMPLETED too)."""
    region = client.meta.region_name
    if source.recovery_point != "latest":
        point = describe_recovery_point(client, source, source.recovery_point, store=store)
        if not _matches(source, point.resource_arn, point.resource_type, point.resource_name):
            raise SourceError(f"store {store}: recovery point {point.recovery_point_arn} in vault {source.vault} "
                              f"is of {point.resource_type} {point.resource_arn}, not of {_resource(source)}",
                              hint="fix stores.source.recovery_point, or the resource it should be of")
        if point.point_status != COMPLETED:
            raise SourceError(f"store {store}: recovery point {point.recovery_point_arn} of {_resource(source)} in "
                              f"vault {source.vault} is {point.point_status!r}, not {COMPLETED}",
                              hint='wait for the backup job to finish, or use recovery_point = "latest"')
        return point
    filters: dict[str, str] = ({"ByResourceArn": source.resource_arn} if source.resource_arn is not None
                               else {"ByResourceType": str(source.resource_type)})
    try:
        pages = client.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=source.vault, **filters)  # type: ignore[arg-type]  # the filter keys are typed apart
        found = [_point(p, source, region) for page in pages for p in page.get("RecoveryPoints", [])]
    except (ClientError, BotoCoreError) as exc:
        missing = isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND
        raise _backup_error(store, f"cannot list the recovery points of {_resource(source)} in backup vault "
                            f"{source.vault} (region {region})", exc, DESCRIBE_ACTIONS,
                            "check stores.source.vault and region (`aws backup list-backup-vaults`)" if missing
                            else "run again; check the region") from None
    of_resource = [p for p in found if _matches(source, p.resource_arn, p.resource_type, p.resource_name)]
    # an RDS / Aurora continuous point is no snapshot: "latest" is the newest snapshot-backed one
    continuous = [p for p in of_resource if p.resource_type in RDS_TYPES and p.continuous]
    completed = [p for p in of_resource if p.point_status == COMPLETED and p not in continuous]
    if not completed:
        seen = Counter(f"{p.point_status} continuous (point-in-time, skipped)" if p in continuous else p.point_status
                       for p in of_resource)
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(seen.items())) or "none at all"
        raise SourceError(f"store {store}: backup vault {source.vault} (region {region}) has no {COMPLETED} "
                          f"{'snapshot-backed ' if continuous else ''}recovery point of {_resource(source)}; "
                          f"recovery points seen: {statuses}",
                          hint="check the backup plan's jobs (`aws backup list-backup-jobs`), stores.source.vault "
                          "and the resource; a point still CREATING is chosen once it is COMPLETED")
    return max(completed, key=lambda p: (p.point_created, p.recovery_point_arn))


def describe_recovery_point(client: BackupClient, source: AwsBackupSource, arn: str, *, store: str,
                            vault: str = "") -> RecoveryPoint:
    """The recovery point `arn` in `vault` (default: the source's)."""
    vault = vault or source.vault
    try:
        raw = client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    except (ClientError, BotoCoreError) as exc:
        missing = isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND
        raise _backup_error(store, f"cannot describe recovery point {arn} in backup vault {vault}", exc,
                            DESCRIBE_ACTIONS, "it is not in that vault (or expired): fix stores.source.vault or "
                            'recovery_point, or use recovery_point = "latest"' if missing else "run again") from None
    return _point(raw, source, client.meta.region_name)


def describe_restore_job(client: BackupClient, job_id: str, *, store: str,
                         hint: str = "run again; check the region") -> RestoreJob:
    try:
        raw = client.describe_restore_job(RestoreJobId=job_id)
    except (ClientError, BotoCoreError) as exc:
        raise _backup_error(store, f"cannot describe AWS Backup restore job {job_id}", exc, RESTORE_TEST_ACTIONS,
                            hint) from None
    return RestoreJob(id=job_id, status=str(raw.get("Status", "")), status_message=str(raw.get("StatusMessage", "")),
                      recovery_point_arn=str(raw.get("RecoveryPointArn", "")),
                      source_resource_arn=str(raw.get("SourceResourceArn", "")),
                      created_resource_arn=str(raw.get("CreatedResourceArn", "")),
                      resource_type=str(raw.get("ResourceType", "")), seconds=_job_seconds(raw),
                      vault=resource_name_of(str(raw.get("BackupVaultArn", ""))))


def _job_seconds(raw: Any) -> float:
    start, end = raw.get("CreationDate"), raw.get("CompletionDate")
    return max(0.0, (end - start).total_seconds()) if isinstance(start, datetime) and isinstance(end, datetime) else 0.0


def _job_resource_matches(source: AwsBackupSource, job: RestoreJob) -> bool:
    return _matches(source, job.source_resource_arn, job.resource_type, resource_name_of(job.source_resource_arn))


def adopted_point(client: BackupClient, source: AwsBackupSource, job_id: str, *, store: str) -> RecoveryPoint:
    """Restore testing: the recovery point the job restored, with the resource it created."""
    job = describe_restore_job(client, job_id, store=store, hint=TESTING_JOB_HINT)
    if not _job_resource_matches(source, job):
        raise SourceError(f"store {store}: AWS Backup restore job {job_id} restored {job.resource_type} "
                          f"{job.source_resource_arn or '(unknown)'}, not this store's {_resource(source)}",
                          hint="run only the store that protects that resource (`--store NAME`)")
    if job.status != COMPLETED or not job.created_resource_arn:
        raise SourceError(f"store {store}: AWS Backup restore job {job_id} is {job.status!r}"
                          f"{f' ({job.status_message})' if job.status_message else ''}, not {COMPLETED} with a "
                          "restored resource", hint="start the verification when the job completed (the EventBridge "
                          "rule in docs/aws-backup.md matches status COMPLETED)")
    # a restore testing plan may take its recovery points from any vault: the job's is the one to ask
    point = describe_recovery_point(client, source, job.recovery_point_arn, store=store, vault=job.vault)
    return RecoveryPoint(**{**asdict(point), "restore_job_id": job_id, "adopted_arn": job.created_resource_arn,
                            "adopted_restore_seconds": job.seconds})


def rds_source_of(source: AwsBackupSource, point: RecoveryPoint, *, store: str) -> RdsSnapshotSource:
    """The rds-snapshot source an RDS / Aurora recovery point amounts to: its snapshot, with the source's
    restore settings (the postgres and mysql kinds restore and measure it as they do that source). A continuous
    point is no snapshot: it fails, naming the point type and the fix."""
    if point.continuous:
        raise continuous_point_error(point, store=store)
    snapshot_id = point.recovery_point_arn.split(":snapshot:", 1)[-1].split(":cluster-snapshot:", 1)[-1]
    cluster = point.resource_type == "Aurora" or ":cluster:" in point.resource_arn
    if cluster and source.instance_class is None:
        raise SourceError(f"store {store}: recovery point {point.recovery_point_arn} is of Aurora cluster "
                          f"{point.resource_arn}, restored as a cluster plus one DB instance",
                          hint="set stores.source.instance_class for that temporary DB instance")
    restore = source.model_dump(include=set(RdsRestoreSettings.model_fields))  # placement, login, timeout
    return RdsSnapshotSource(
        type="rds-snapshot", **restore, instance=None if cluster else point.resource_name,
        cluster=point.resource_name if cluster else None, snapshot=snapshot_id, include=["aws-backup"],
        manifest=source.manifest, manifest_tolerance=source.manifest_tolerance)


def continuous_point_error(point: RecoveryPoint, *, store: str) -> SourceError:
    kind = f"{'Aurora cluster' if point.resource_type == 'Aurora' else 'RDS instance'} {point.resource_arn}"
    if point.restore_job_id:
        return SourceError(
            f"store {store}: AWS Backup restore job {point.restore_job_id} restored the continuous (point-in-time) "
            f"recovery point {point.recovery_point_arn} of {kind}: the restore job does not say which moment the "
            "restored instance holds, so no manifest can be paired with it and no RPO judged; nothing was verified",
            hint="let the restore testing plan select SNAPSHOT recovery points only (RecoveryPointTypes), and verify "
            "point-in-time restores with an rds-snapshot source and restore_to (docs/aws.md)")
    return SourceError(
        f"store {store}: recovery point {point.recovery_point_arn} of {kind} is a continuous (point-in-time) "
        "backup, not a DB snapshot: the aws-backup source restores snapshot-backed RDS and Aurora recovery points",
        hint=CONTINUOUS_HINT)


def _dynamodb_source_of(source: AwsBackupSource, point: RecoveryPoint) -> DynamoDbBackupSource:
    return DynamoDbBackupSource(type="dynamodb-backup", region=source.region, endpoint_url=source.endpoint_url,
                                table=point.resource_name, backup=point.recovery_point_arn,
                                manifest=source.manifest or "(aws-backup source)")


class AwsBackups:
    def locate(self, source: AwsBackupSource, *, base_dir: Path, store: str) -> Located:
        client = backup_client(source.region, source.endpoint_url)
        job_id = restore_job_id()
        point = (adopted_point(client, source, job_id, store=store) if job_id
                 else find_recovery_point(client, source, store=store))
        if point.resource_type in RDS_TYPES:  # its snapshot, paired with its manifest as rds-snapshot's is
            snapshot = RdsSnapshots().locate(rds_source_of(source, point, store=store), base_dir=base_dir,
                                             store=store)
            manifest, details = snapshot.manifest_path, {**snapshot.details, **point.details()}
        else:
            manifest = None if source.manifest is None else manifest_file(
                source.manifest, base_dir=base_dir, store=store, region=source.region, endpoint_url=source.endpoint_url)
            details = {**_resource_details(source, point, store=store), **point.details()}
        return Located(location=point.recovery_point_arn, path=Path(point.resource_name or "recovery-point"),
                       manifest_path=manifest, modified=point.created_at, details=details)

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        """Confirm the planned recovery point is still COMPLETED (it may have expired since), and, for an RDS
        snapshot or DynamoDB backup, that it is still available."""
        planned = RecoveryPoint.from_details(located.details)
        client = backup_client(planned.region or None, planned.endpoint_url or None)
        try:
            status = str(client.describe_recovery_point(BackupVaultName=planned.vault,
                                                        RecoveryPointArn=planned.recovery_point_arn).get("Status"))
        except (ClientError, BotoCoreError) as exc:
            raise _backup_error(store, f"recovery point {planned.recovery_point_arn} in backup vault {planned.vault} "
                                "cannot be described", exc, DESCRIBE_ACTIONS, "run again to pick the newest") from None
        if status != COMPLETED:
            raise SourceError(f"store {store}: recovery point {planned.recovery_point_arn} of {planned.resource_type} "
                              f"{planned.resource_arn} in backup vault {planned.vault} is {status!r}, not "
                              f"{COMPLETED}", hint="run again to pick the newest COMPLETED recovery point")
        inner = _inner_artifact(located, planned, store=store, work_dir=work_dir)
        details = {**(inner.details if inner else {}), **planned.evidence(),
                   "sha256_of": "the recovery point's identity record (ARN, vault, resource, type, creation time, "
                   "size, encryption)"}
        return Artifact(location=planned.recovery_point_arn, path=located.path, sha256=planned.identity_sha256,
                        bytes=inner.bytes if inner else planned.point_bytes, modified=planned.created_at,
                        manifest_path=located.manifest_path, details=details)


def _resource_details(source: AwsBackupSource, point: RecoveryPoint, *, store: str) -> dict[str, str]:
    """The backup a DynamoDB recovery point is, described as the dynamodb-backup source does; an S3 one's bucket."""
    if point.resource_type == "DynamoDB":
        if point.native_dynamodb_backup and not point.adopted_arn:
            client = dynamodb_client(source.region, source.endpoint_url)
            return find_backup(client, _dynamodb_source_of(source, point), store=store).details()
        backup = Backup(arn=point.recovery_point_arn, name=resource_name_of(point.recovery_point_arn),
                        table=point.resource_name, backup_type="AWS_BACKUP", status="AVAILABLE",
                        created=point.point_created, bytes=point.point_bytes, region=point.region,
                        endpoint_url=point.endpoint_url)
        return backup.details()
    if point.resource_type == "S3":
        return {"bucket": point.resource_name, "prefix": "", "reference": "manifest"}
    raise SourceError(f"store {store}: recovery point {point.recovery_point_arn} is of a {point.resource_type} "
                      "resource; the aws-backup source restores RDS, Aurora, DynamoDB and S3 recovery points only",
                      hint="point stores.source at an RDS, Aurora, DynamoDB or S3 resource")


def _inner_artifact(located: Located, point: RecoveryPoint, *, store: str, work_dir: Path | None) -> Artifact | None:
    if point.adopted_arn:  # restore testing: AWS Backup restored it already
        return None
    if point.resource_type in RDS_TYPES:
        return RdsSnapshots().fetch(located, store=store, work_dir=work_dir)
    if point.resource_type == "DynamoDB" and point.native_dynamodb_backup:
        return DynamoDbBackups().fetch(located, store=store, work_dir=work_dir)
    return None


def start_restore_job(client: BackupClient, point: RecoveryPoint, target: dict[str, str], *, role: str | None,
                      store: str) -> str:
    """StartRestoreJob of `point` with the metadata the recovery point was backed up with (as AWS Backup
    recommends: GetRecoveryPointRestoreMetadata) and `target` over it; the job's id (wait with
    `wait_restore_job`)."""
    if role is None:
        raise SourceError(f"store {store}: restoring {point.resource_type} recovery point {point.recovery_point_arn} "
                          "needs an IAM role for AWS Backup", hint="set stores.source.iam_role_arn to a role AWS "
                          "Backup can assume to restore (docs/aws-backup.md), and allow the harness iam:PassRole on it")
    try:
        metadata = dict(client.get_recovery_point_restore_metadata(
            BackupVaultName=point.vault, RecoveryPointArn=point.recovery_point_arn).get("RestoreMetadata", {}))
        return client.start_restore_job(RecoveryPointArn=point.recovery_point_arn, Metadata={**metadata, **target},
                                        IamRoleArn=role, ResourceType=point.resource_type,
                                        CopySourceTagsToRestoredResource=False)["RestoreJobId"]
    except (ClientError, BotoCoreError) as exc:
        raise _backup_error(store, f"cannot start restoring recovery point {point.recovery_point_arn}", exc,
                            RESTORE_ACTIONS, "check stores.source.iam_role_arn and its trust policy "
                            "(backup.amazonaws.com)") from None


def wait_restore_job(client: BackupClient, job_id: str, timeout: float, *, store: str) -> tuple[RestoreJob, bool]:
    """Wait until the restore job ends (botocore's waiter, bounded by `timeout`); the job as last described,
    and whether the wait timed out."""
    waiter = create_waiter_with_client("RestoreJobDone", WaiterModel(_RESTORE_JOB_WAITER), client)
    timed_out = False
    try:
        waiter.wait(RestoreJobId=job_id, WaiterConfig=waiter_config(timeout, POLL_SECONDS))
    except WaiterError as exc:
        timed_out = "Max attempts exceeded" in str(exc)
        if isinstance(exc.last_response, dict) and "Error" in exc.last_response and not timed_out:
            raise SourceError(f"store {store}: cannot watch AWS Backup restore job {job_id}: {exc}",
                              hint=f"grant {RESTORE_ACTIONS}") from None
    return describe_restore_job(client, job_id, store=store), timed_out


def settled_restore_job(client: BackupClient, job_id: str, *, store: str) -> RestoreJob:
    """The job once it ended, waiting up to SETTLE_SECONDS: what it restores into can be deleted only then (AWS
    Backup has no call to stop a restore job). Still PENDING/RUNNING after that: the caller names what is left."""
    job = describe_restore_job(client, job_id, store=store)
    if job.status in RUNNING:
        job, _ = wait_restore_job(client, job_id, SETTLE_SECONDS, store=store)
    return job


def validation_message(status: str, checks: Sequence[CheckResult], error: Mapping[str, str] | None) -> str:
    """What AWS Backup's console shows: counts of passed and failed checks and the names of the failing ones;
    never observed values (no row contents, no secrets), capped to MESSAGE_LIMIT."""
    failed = [f"{c.check} {c.subject}" for c in checks if not c.passed]
    text = f"restoreproof {status}: {len(checks) - len(failed)} of {len(checks)} checks passed"
    if failed:
        text += f"; failed: {', '.join(failed)}"
    if error:
        text += f"; error in {error.get('phase', '?')}: {redact_secrets(error.get('message', ''))}"
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def report_restore_test(source: AwsBackupSource, *, store: str, status: str, checks: Sequence[CheckResult],
                        error: Mapping[str, str] | None) -> dict[str, str] | None:
    """When the run is for a restore-testing job of this store's resource, report the verdict to it
    (SUCCESSFUL only when every check passed). None when reported (or nothing to report); else the error that
    the store's outcome takes, naming the missing permission."""
    job_id = restore_job_id()
    if job_id is None:
        return None
    client = backup_client(source.region, source.endpoint_url)
    try:
        job = describe_restore_job(client, job_id, store=store, hint=TESTING_JOB_HINT)
    except SourceError as exc:
        return {"phase": "teardown", "message": f"the verdict was not reported to AWS Backup: {exc.describe()}"}
    if not _job_resource_matches(source, job):
        return None  # another store's job: its own store reports it
    verdict: Literal["SUCCESSFUL", "FAILED"] = "SUCCESSFUL" if status == "passed" else "FAILED"
    try:
        client.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus=verdict,
                                             ValidationStatusMessage=validation_message(status, checks, error))
    except (ClientError, BotoCoreError) as exc:
        reason = _backup_error(store, f"cannot report the verdict ({verdict}) to AWS Backup restore job {job_id}",
                               exc, "backup:PutRestoreValidationResult", "run again; the job accepts a result "
                               "until its validation window closes")
        return {"phase": "teardown", "message": reason.describe()}
    return None
