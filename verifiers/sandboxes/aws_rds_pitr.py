"""An RDS instance (RestoreDBInstanceToPointInTime) or Aurora cluster (RestoreDBClusterToPointInTime, then
CreateDBInstance in it) restored to a point in time into a temporary, tagged, private sandbox: the same
RdsSandbox, tags, waiting and deletion as a snapshot restore (aws_rds.py), so cleanup and the janitor are the same.

The restore time is always passed explicitly (never UseLatestRestorableTime), so the evidence and the live
reference's `{restore_time}` condition name the very moment AWS restored to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, permission_hint, sandbox_tags
from verifiers.errors import SandboxError
from verifiers.sandboxes.aws_rds import (
    RdsSandbox,
    RdsSandboxSettings,
    _placement,
    restored_sandbox,
)
from verifiers.sources.rds_snapshot import Snapshot

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

PITR_ACTIONS = ("rds:RestoreDBInstanceToPointInTime, rds:RestoreDBClusterToPointInTime, rds:CreateDBInstance, "
                "rds:AddTagsToResource, rds:DescribeDBInstances, rds:DescribeDBClusters, rds:DeleteDBInstance, "
                "rds:DeleteDBCluster")


def restored_point_in_time(client: RDSClient, point: Snapshot, settings: RdsSandboxSettings,
                           restore_time: datetime) -> contextlib.AbstractContextManager[RdsSandbox]:
    """Start the restore of `point` (its source_id is the instance or cluster) to `restore_time`; returns once
    AWS accepted it (wait with `wait_available`); deletes everything it created on exit."""
    return restored_sandbox(
        client, point, settings, what="the RDS point-in-time sandbox",
        create=lambda sandbox, what, call: _create(sandbox, what, restore_time, call),
        restore_cluster=lambda sandbox: client.restore_db_cluster_to_point_in_time(
            **cluster_request(sandbox, restore_time))["DBCluster"].get("DBClusterArn", ""),
        restore_instance=lambda sandbox: client.restore_db_instance_to_point_in_time(
            **instance_request(sandbox, restore_time))["DBInstance"].get("DBInstanceArn", ""))


def _create(sandbox: RdsSandbox, what: str, restore_time: datetime, call: Callable[[], str]) -> None:
    """aws_rds._create's twin for a point in time: the error names the origin, the moment and the PITR actions."""
    try:
        sandbox.arns[what] = call()
    except (ClientError, BotoCoreError) as exc:
        origin = f"{'cluster' if sandbox.snapshot.cluster else 'instance'} {sandbox.snapshot.source_id}"
        raise SandboxError(
            f"store {sandbox.settings.store}: cannot restore {origin} to {restore_time.isoformat()} into {what} "
            f"{sandbox.instance_id}: {describe_error(exc)}",
            hint=permission_hint(exc, PITR_ACTIONS) or "check stores.source.instance_class, subnet_group and "
            "security_groups against the source's engine and VPC") from None


def instance_request(sandbox: RdsSandbox, restore_time: datetime) -> dict[str, Any]:
    """RestoreDBInstanceToPointInTime's parameters: private, single-AZ, unprotected, no backups of its own."""
    params: dict[str, Any] = {
        "SourceDBInstanceIdentifier": sandbox.snapshot.source_id, "TargetDBInstanceIdentifier": sandbox.instance_id,
        "RestoreTime": restore_time, "PubliclyAccessible": False, "MultiAZ": False, "DeletionProtection": False,
        "CopyTagsToSnapshot": False, "BackupRetentionPeriod": 0,
        "Tags": sandbox_tags(sandbox.tag, sandbox.settings.store),
    }
    params.update(_placement(sandbox.settings, cluster=False))
    return params


def cluster_request(sandbox: RdsSandbox, restore_time: datetime) -> dict[str, Any]:
    """RestoreDBClusterToPointInTime's parameters: a full copy (copy-on-write takes no RestoreToTime)."""
    params: dict[str, Any] = {
        "DBClusterIdentifier": sandbox.cluster_id, "SourceDBClusterIdentifier": sandbox.snapshot.source_id,
        "RestoreType": "full-copy", "RestoreToTime": restore_time, "DeletionProtection": False,
        "CopyTagsToSnapshot": False, "Tags": sandbox_tags(sandbox.tag, sandbox.settings.store),
    }
    params.update(_placement(sandbox.settings, cluster=True))
    return params
