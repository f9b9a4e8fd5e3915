"""An RDS instance (or Aurora cluster) that an AWS Backup restore-testing job restored: the harness verifies it
where it is and never deletes it. AWS Backup deletes it when the restore test's retention period ends, after the
verdict (PutRestoreValidationResult) is in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, permission_hint
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.aws_rds import RdsSandbox, RdsSandboxSettings
from verifiers.sources.rds_snapshot import Snapshot

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

DESCRIBE_ACTIONS = "rds:DescribeDBInstances and rds:DescribeDBClusters"
RESTORE_TESTING_TAG = "awsbackup-restore-test"  # AWS Backup tags every resource its restore testing restored
# Its copy is neither named restoreproof-* nor tagged restoreproof:sandbox, so the role's own modify rights miss it.
CREDENTIALS_HINT = (
    "AWS Backup restore testing restored this instance, so it is neither named restoreproof-* nor tagged "
    "restoreproof:sandbox: grant the harness's identity rds:ModifyDBInstance / rds:ModifyDBCluster on resources "
    f"tagged {RESTORE_TESTING_TAG} (the template of `restoreproof init --iac aws`: deploy it with "
    "EnableRestoreTesting=true; docs/aws-backup.md), or set stores.source.credentials = \"environment\" and give "
    "the password in the environment")


@dataclass
class AdoptedRdsSandbox(RdsSandbox):
    """The restored instance as the measuring code knows it; its evidence says who made it and who deletes it."""

    restore_job_id: str = ""
    resource_arn: str = ""

    @property
    def info(self) -> SandboxInfo:
        details = {"instance_id": self.instance_id, "instance_arn": self.arns.get("instance", ""),
                   "region": self.snapshot.region, "restored_by": f"AWS Backup restore job {self.restore_job_id}",
                   "adopted_resource": self.resource_arn, "deleted_by": "AWS Backup (restore testing retention)"}
        if self.cluster_id:
            details.update(cluster_id=self.cluster_id, cluster_arn=self.arns.get("cluster", ""))
        return SandboxInfo(type="aws-aurora" if self.cluster_id else "aws-rds", engine=self.snapshot.engine,
                           version=self.snapshot.engine_version, details=details)


@contextlib.contextmanager
def adopted_instance(client: RDSClient, snapshot: Snapshot, settings: RdsSandboxSettings, *, resource_arn: str,
                     restore_job_id: str) -> Iterator[RdsSandbox]:
    """The instance named by `resource_arn` (…:db:NAME), or the first instance of the cluster it names
    (…:cluster:NAME). Nothing is deleted on exit."""
    kind, _, name = resource_arn.rpartition(":")
    cluster = kind.endswith(":cluster")
    try:
        if cluster:
            found = client.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
            members = sorted(found.get("DBClusterMembers", []), key=lambda m: not m.get("IsClusterWriter"))
            if not members:
                raise SandboxError(f"store {settings.store}: Aurora cluster {resource_arn}, restored by AWS Backup "
                                   f"restore job {restore_job_id}, has no DB instance to measure",
                                   hint="have the restore testing plan's Aurora restore create an instance, or "
                                   "verify this recovery point in a run of its own (without --aws-backup-restore-job)")
            instance = str(members[0]["DBInstanceIdentifier"])
            arns = {"cluster": str(found.get("DBClusterArn", resource_arn))}
        else:
            instance, arns = name, {}
        described = client.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(f"store {settings.store}: cannot describe {resource_arn}, restored by AWS Backup restore "
                           f"job {restore_job_id}: {describe_error(exc)}",
                           hint=permission_hint(exc, DESCRIBE_ACTIONS) or "AWS Backup may have deleted it already: "
                           "its restore testing plan's retention must outlast the verification") from None
    arns["instance"] = str(described.get("DBInstanceArn", resource_arn))
    yield AdoptedRdsSandbox(client, snapshot, settings, instance_id=instance, cluster_id=name if cluster else None,
                            tag="", arns=arns, restore_job_id=restore_job_id, resource_arn=resource_arn)
