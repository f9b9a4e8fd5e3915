"""A DynamoDB backup restored into a temporary, tagged table (on-demand billing), deleted when the context
exits. As for RDS, deletion is registered before the restore call, by the name the harness chose."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from verifiers.aws import (
    SANDBOX_TAG,
    describe_error,
    error_code,
    permission_hint,
    sandbox_identifier,
    sandbox_tags,
    waiter_config,
)
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.aws_rds import Availability
from verifiers.sandboxes.cleanup import cleanup_stack
from verifiers.sources.dynamodb_backup import Backup

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)
POLL_SECONDS = 20
RESTORE_ACTIONS = ("dynamodb:RestoreTableFromBackup (or RestoreTableToPointInTime), dynamodb:TagResource, "
                   "dynamodb:DescribeTable, dynamodb:Scan, "
                   "dynamodb:DeleteTable (plus the table write actions RestoreTableFromBackup requires)")


@dataclass
class RestoredTable:
    client: DynamoDBClient
    backup: Backup
    store: str
    name: str
    arn: str = ""

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="aws-dynamodb", engine="dynamodb", version="-",
                           details={"table_name": self.name, "table_arn": self.arn, "region": self.backup.region,
                                    SANDBOX_TAG: self.name, "billing_mode": "PAY_PER_REQUEST"})

    def wait_active(self, timeout: float) -> Availability:
        """boto3's `table_exists` waiter: done when the table is ACTIVE, bounded by `timeout`."""
        try:
            self.client.get_waiter("table_exists").wait(TableName=self.name,
                                                        WaiterConfig=waiter_config(timeout, POLL_SECONDS))
        except WaiterError as exc:
            last: Any = exc.last_response or {}
            status = str((last.get("Table") or {}).get("TableStatus", "unknown"))
            return Availability(False, status, "Max attempts exceeded" in str(exc), timeout,
                                f"table {self.arn or self.name} was not ACTIVE within restore_timeout "
                                f"({timeout:.0f}s); last status {status!r}")
        except (ClientError, BotoCoreError) as exc:
            raise SandboxError(f"store {self.store}: cannot watch restored table {self.name}: {describe_error(exc)}",
                               hint=permission_hint(exc, RESTORE_ACTIONS)) from None
        return Availability(True, "ACTIVE", False, timeout, f"table {self.arn or self.name} is ACTIVE")


@contextlib.contextmanager
def restored_table(client: DynamoDBClient, backup: Backup, store: str) -> Iterator[RestoredTable]:
    table = RestoredTable(client, backup, store, sandbox_identifier(store))
    with cleanup_stack(log, store, "the temporary table") as cleanup:
        cleanup.callback(delete_table, table)
        try:
            if backup.pitr:  # the recorded restore point, so evidence and restore agree on the moment
                restored = client.restore_table_to_point_in_time(
                    SourceTableName=backup.table, TargetTableName=table.name, RestoreDateTime=backup.created_at,
                    BillingModeOverride="PAY_PER_REQUEST")
            else:
                restored = client.restore_table_from_backup(TargetTableName=table.name, BackupArn=backup.arn,
                                                            BillingModeOverride="PAY_PER_REQUEST")
            table.arn = restored["TableDescription"].get("TableArn", "")
            client.tag_resource(ResourceArn=table.arn, Tags=sandbox_tags(table.name, store))
        except (ClientError, BotoCoreError) as exc:
            raise SandboxError(
                f"store {store}: cannot restore {backup.arn} into table {table.name}: {describe_error(exc)}",
                hint=permission_hint(exc, RESTORE_ACTIONS)) from None
        yield table


def delete_table(table: RestoredTable) -> None:
    """Delete the temporary table (gone already is fine); a failure names it and the janitor."""
    try:
        table.client.delete_table(TableName=table.name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return
        raise SandboxError(
            f"store {table.store}: could not delete the temporary table {table.arn or table.name}: "
            f"{describe_error(exc)}",
            hint=f"delete it now (`restoreproof janitor --delete --older-than 1s` finds it by its tag "
            f"{SANDBOX_TAG})") from None
    except BotoCoreError as exc:
        raise SandboxError(f"store {table.store}: could not delete the temporary table {table.name}: {exc}",
                           hint="delete it now with `restoreproof janitor --delete --older-than 1s`") from None
    log.info("store %s: deleted temporary table %s", table.store, table.arn or table.name)
