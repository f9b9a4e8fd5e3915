"""DynamoDB backups (on-demand, system, AWS Backup) of a table: the newest available one, or one by ARN; or, with
backup = "pitr", the table's point-in-time recovery at `restore_time` (default: the latest restorable time).

Nothing is downloaded: `fetch` confirms the backup is still available and describes it for the evidence.
As for an RDS snapshot, the artifact's `sha256` is that of the backup's identity record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, dynamodb_client, error_code, permission_hint
from verifiers.errors import SourceError
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import manifest_file
from verifiers.store_settings import DynamoDbBackupSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DESCRIBE_ACTIONS = "dynamodb:ListBackups and dynamodb:DescribeBackup"
PITR_ACTIONS = "dynamodb:DescribeContinuousBackups and dynamodb:DescribeTable"
PITR = "pitr"
_TYPES = {"user": "USER", "system": "SYSTEM", "aws-backup": "AWS_BACKUP"}
_NOT_FOUND = {"BackupNotFoundException", "ResourceNotFoundException", "ValidationException"}


@dataclass(frozen=True)
class Backup:
    arn: str
    name: str
    table: str
    backup_type: str
    status: str
    created: str  # ISO 8601 UTC
    bytes: int
    region: str
    endpoint_url: str
    pitr: str = ""  # point-in-time recovery: "latest" or the requested time (ISO 8601); "" for a backup

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.created)

    @property
    def identity_sha256(self) -> str:
        identity = {k: v for k, v in asdict(self).items()
                    if k not in ("status", "region", "endpoint_url") and (k != "pitr" or v)}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def details(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    def evidence(self) -> dict[str, str]:
        if self.pitr:
            return {"table_arn": self.arn, "backup_type": "PITR", "backup_of": f"table {self.table}",
                    "restore_point": self.created, "restore_to": self.pitr,
                    "sha256_of": "the restore point's identity record (table ARN, type, restore time)"}
        return {"backup_arn": self.arn, "backup_name": self.name, "backup_type": self.backup_type,
                "backup_of": f"table {self.table}", "backup_created": self.created,
                "sha256_of": "the backup's identity record (ARN, name, table, type, creation time, size)"}

    @classmethod
    def from_details(cls, details: Any) -> Backup:
        raw = {k: details[k] for k in cls.__dataclass_fields__ if k in details}
        return cls(**{**raw, "bytes": int(raw["bytes"])})


def _backup(raw: Any, region: str, endpoint_url: str, table: str) -> Backup:
    created = raw.get("BackupCreationDateTime")
    when = created if isinstance(created, datetime) else datetime.now(UTC)
    return Backup(arn=raw["BackupArn"], name=raw.get("BackupName", ""), table=raw.get("TableName", table),
                  backup_type=raw.get("BackupType", ""), status=raw.get("BackupStatus", ""),
                  created=when.astimezone(UTC).isoformat(), bytes=int(raw.get("BackupSizeBytes") or 0),
                  region=region, endpoint_url=endpoint_url)


def find_backup(client: DynamoDBClient, source: DynamoDbBackupSource, *, store: str) -> Backup:
    region, endpoint = client.meta.region_name, source.endpoint_url or ""
    if source.backup == PITR:
        return find_restore_point(client, source, store=store)
    try:
        if source.backup != "latest":
            described = client.describe_backup(BackupArn=source.backup)["BackupDescription"]["BackupDetails"]
            return _backup(described, region, endpoint, source.table)
        wanted = {_TYPES[k] for k in source.include}
        found = [_backup(b, region, endpoint, source.table)
                 for page in client.get_paginator("list_backups").paginate(TableName=source.table, BackupType="ALL")
                 for b in page.get("BackupSummaries", [])]
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND:
            raise SourceError(f"store {store}: DynamoDB backup {source.backup} of table {source.table} does not "
                              f"exist in region {region}",
                              hint="list them with `aws dynamodb list-backups --table-name "
                              f"{source.table}` and fix stores.source.backup, or use backup = \"latest\"") from None
        raise SourceError(f"store {store}: cannot list the DynamoDB backups of table {source.table} in region "
                          f"{region}: {describe_error(exc)}", hint=permission_hint(exc, DESCRIBE_ACTIONS)) from None
    candidates = [b for b in found if b.status == "AVAILABLE" and b.backup_type in wanted]
    if not candidates:
        raise SourceError(
            f"store {store}: table {source.table} has no available {'/'.join(source.include)} backup in region "
            f"{region}", hint="check stores.source.table, region and include (user, system, aws-backup)")
    return max(candidates, key=lambda b: (b.created, b.arn))


def _continuous_backups(client: DynamoDBClient, table: str, *, store: str) -> Any:
    try:
        described = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) in {"TableNotFoundException", *_NOT_FOUND}:
            raise SourceError(f"store {store}: DynamoDB table {table} does not exist in region "
                              f"{client.meta.region_name}, so it has no point-in-time recovery",
                              hint="check stores.source.table and region") from None
        raise SourceError(f"store {store}: cannot describe the point-in-time recovery of table {table}: "
                          f"{describe_error(exc)}", hint=permission_hint(exc, PITR_ACTIONS)) from None
    recovery = described.get("PointInTimeRecoveryDescription") or {}
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise SourceError(f"store {store}: point-in-time recovery is not enabled on DynamoDB table {table}",
                          hint=f"enable it (`aws dynamodb update-continuous-backups --table-name {table} "
                          "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`) or use "
                          'backup = "latest"')
    return recovery


def find_restore_point(client: DynamoDBClient, source: DynamoDbBackupSource, *, store: str) -> Backup:
    """The table's restorable window, and the moment within it to restore to (the latest by default)."""
    recovery = _continuous_backups(client, source.table, store=store)
    earliest, latest = recovery.get("EarliestRestorableDateTime"), recovery.get("LatestRestorableDateTime")
    if not isinstance(latest, datetime) or not isinstance(earliest, datetime):
        raise SourceError(f"store {store}: table {source.table} reports no restorable window yet",
                          hint="point-in-time recovery was just enabled: run again in a few minutes")
    when = source.restore_time.astimezone(UTC) if source.restore_time is not None else latest.astimezone(UTC)
    if not earliest <= when <= latest:
        raise SourceError(f"store {store}: restore_time {when.isoformat()} is outside the restorable window of "
                          f"table {source.table} ({earliest.astimezone(UTC).isoformat()} to "
                          f"{latest.astimezone(UTC).isoformat()})",
                          hint="pick a stores.source.restore_time inside the window, or leave it out for the latest")
    try:
        arn = client.describe_table(TableName=source.table)["Table"].get("TableArn", source.table)
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"store {store}: cannot describe table {source.table}: {describe_error(exc)}",
                          hint=permission_hint(exc, PITR_ACTIONS)) from None
    return Backup(arn=arn, name=f"{source.table}@{when:%Y%m%dT%H%M%SZ}", table=source.table, backup_type="PITR",
                  status="ENABLED", created=when.isoformat(), bytes=0, region=client.meta.region_name,
                  endpoint_url=source.endpoint_url or "",
                  pitr=source.restore_time.astimezone(UTC).isoformat() if source.restore_time else "latest")


class DynamoDbBackups:
    def locate(self, source: DynamoDbBackupSource, *, base_dir: Path, store: str) -> Located:
        backup = find_backup(dynamodb_client(source.region, source.endpoint_url), source, store=store)
        manifest = manifest_file(source.manifest, base_dir=base_dir, store=store, region=source.region,
                                 endpoint_url=source.endpoint_url)
        return Located(location=backup.arn, path=Path(backup.name or "backup"), manifest_path=manifest,
                       modified=backup.created_at, details=backup.details())

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        planned = Backup.from_details(located.details)
        client = dynamodb_client(planned.region or None, planned.endpoint_url or None)
        if planned.pitr:  # still enabled: the restore request is what proves the point is restorable
            _continuous_backups(client, planned.table, store=store)
            return Artifact(location=planned.arn, path=located.path, sha256=planned.identity_sha256, bytes=0,
                            modified=planned.created_at, manifest_path=located.manifest_path,
                            details=planned.evidence())
        try:
            status = client.describe_backup(BackupArn=planned.arn)["BackupDescription"]["BackupDetails"].get(
                "BackupStatus", "")
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"store {store}: DynamoDB backup {planned.arn} cannot be described: "
                              f"{describe_error(exc)}",
                              hint=permission_hint(exc, DESCRIBE_ACTIONS) or "run again to pick the newest") from None
        if status != "AVAILABLE":
            raise SourceError(f"store {store}: DynamoDB backup {planned.arn} is {status!r}, not AVAILABLE",
                              hint="run again to pick the newest available backup")
        return Artifact(location=planned.arn, path=located.path, sha256=planned.identity_sha256,
                        bytes=planned.bytes, modified=planned.created_at, manifest_path=located.manifest_path,
                        details=planned.evidence())
