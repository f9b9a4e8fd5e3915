"""A DynamoDB table from an AWS Backup recovery point (the aws-backup source, verifiers/sources/aws_backup.py):

- a recovery point that is a DynamoDB backup (arn:aws:dynamodb:…) is restored as a dynamodb-backup source's is
  (RestoreTableFromBackup, verifiers/stores/dynamodb/sandbox.py);
- one managed by AWS Backup (arn:aws:backup:…, "advanced" backups) with StartRestoreJob into a table the harness
  names; once the job completes the table is tagged like every sandbox, and deleted on exit;
- restore testing: the table AWS Backup's restore-testing job created is verified in place and left to AWS Backup.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import backup_client, describe_error, permission_hint, sandbox_identifier, sandbox_tags
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.aws_rds import Availability
from verifiers.sandboxes.cleanup import cleanup_stack
from verifiers.sources.aws_backup import (
    RUNNING,
    RecoveryPoint,
    resource_name_of,
    settled_restore_job,
    start_restore_job,
    wait_restore_job,
)
from verifiers.sources.dynamodb_backup import Backup
from verifiers.stores.dynamodb.sandbox import RESTORE_ACTIONS, RestoredTable, delete_table, restored_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)


def table_opening(client: DynamoDBClient, backup: Backup, store: str, details: Mapping[str, str], *,
                  role: str | None) -> AbstractContextManager[RestoredTable]:
    """The temporary table for a planned backup: `details` are the plan's Located.details."""
    if "recovery_point_arn" not in details:  # a dynamodb-backup source
        return restored_table(client, backup, store)
    point = RecoveryPoint.from_details(details)
    if point.adopted_arn:
        return adopted_table(client, backup, store, point)
    if point.native_dynamodb_backup:
        return restored_table(client, backup, store)
    return backup_restored_table(client, backup, store, point, role=role)


@dataclass
class AdoptedTable(RestoredTable):
    restore_job_id: str = ""
    restore_seconds: float = 0.0  # how long AWS Backup's restore job took: the restore phase's time

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="aws-dynamodb", engine="dynamodb", version="-",
                           details={"table_name": self.name, "table_arn": self.arn, "region": self.backup.region,
                                    "restored_by": f"AWS Backup restore job {self.restore_job_id}",
                                    "deleted_by": "AWS Backup (restore testing retention)"})


@contextlib.contextmanager
def adopted_table(client: DynamoDBClient, backup: Backup, store: str, point: RecoveryPoint) -> Iterator[RestoredTable]:
    """The table AWS Backup restored for restore testing; nothing is deleted on exit."""
    yield AdoptedTable(client, backup, store, resource_name_of(point.adopted_arn), arn=point.adopted_arn,
                       restore_job_id=point.restore_job_id, restore_seconds=point.adopted_restore_seconds)


@dataclass
class BackupRestoredTable(RestoredTable):
    """A table AWS Backup is restoring: ready when its restore job completed and the table is ACTIVE."""

    point: RecoveryPoint | None = None
    job_id: str = ""

    @property
    def info(self) -> SandboxInfo:
        base = super().info
        return SandboxInfo(type=base.type, engine=base.engine, version=base.version,
                           details={**base.details, "restore_job": self.job_id})

    def wait_active(self, timeout: float) -> Availability:
        deadline = time.monotonic() + timeout
        job, timed_out = wait_restore_job(backup_client(self.backup.region or None, self.backup.endpoint_url or None),
                                          self.job_id, timeout, store=self.store)
        if job.status != "COMPLETED":
            return Availability(False, job.status, timed_out, timeout,
                                f"AWS Backup restore job {self.job_id} into table {self.name} ended "
                                f"{job.status}{f' ({job.status_message})' if job.status_message else ''}"
                                if not timed_out else f"AWS Backup restore job {self.job_id} did not complete "
                                f"within restore_timeout ({timeout:.0f}s); last status {job.status!r}")
        try:
            self.arn = self.client.describe_table(TableName=self.name)["Table"].get("TableArn", "")
            self.client.tag_resource(ResourceArn=self.arn, Tags=sandbox_tags(self.name, self.store))
        except (ClientError, BotoCoreError) as exc:
            raise SandboxError(f"store {self.store}: cannot tag table {self.name}, restored by AWS Backup restore "
                               f"job {self.job_id}: {describe_error(exc)}",
                               hint=permission_hint(exc, RESTORE_ACTIONS)) from None
        return super().wait_active(max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def backup_restored_table(client: DynamoDBClient, backup: Backup, store: str, point: RecoveryPoint, *,
                          role: str | None) -> Iterator[RestoredTable]:
    """StartRestoreJob into a table named like every sandbox table; its deletion is registered first."""
    table = BackupRestoredTable(client, backup, store, sandbox_identifier(store), point=point)
    with cleanup_stack(log, store, "the temporary table") as cleanup:
        cleanup.callback(_delete_after_job, table)
        table.job_id = start_restore_job(backup_client(point.region or None, point.endpoint_url or None), point,
                                         {"targetTableName": table.name}, role=role, store=store)
        yield table


def _delete_after_job(table: BackupRestoredTable) -> None:
    """Delete the table once its restore job ended (AWS Backup may create it until then); a job still running
    after the wait is named with the table to delete."""
    if table.job_id:
        job = settled_restore_job(backup_client(table.backup.region or None, table.backup.endpoint_url or None),
                                  table.job_id, store=table.store)
        if job.status in RUNNING:
            raise SandboxError(f"store {table.store}: AWS Backup restore job {table.job_id} is still {job.status}: "
                               f"table {table.name} will appear when it ends and could not be deleted now",
                               hint=f"delete it once the job ends (`aws dynamodb delete-table --table-name "
                               f"{table.name}`)")
    delete_table(table)
