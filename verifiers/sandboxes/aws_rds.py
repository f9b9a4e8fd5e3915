"""An RDS snapshot restored into a temporary, tagged, private DB instance (an Aurora cluster snapshot: a
temporary cluster plus one DB instance), deleted without a final snapshot when the context exits.

Deletion is registered *before* each create call, by the identifier the harness chose, so a create that
fails or is interrupted half-way is still deleted (a not-found on delete is fine). Anything that cannot be
deleted is named with its ARN; `restoreproof janitor --delete` sweeps it by tag.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
from verifiers.sandboxes.cleanup import cleanup_stack
from verifiers.sources.rds_snapshot import Snapshot

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

log = logging.getLogger(__name__)

POLL_SECONDS = 30  # RDS restores take minutes; polling faster only spends API quota
RESTORE_ACTIONS = ("rds:RestoreDBInstanceFromDBSnapshot, rds:RestoreDBClusterFromSnapshot, rds:CreateDBInstance, "
                   "rds:AddTagsToResource, rds:DescribeDBInstances, rds:DescribeDBClusters, rds:DeleteDBInstance, "
                   "rds:DeleteDBCluster (plus kms:CreateGrant/kms:DescribeKey for encrypted snapshots)")
_GONE = {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBClusterNotFound"}
_ALREADY_DELETING = {"InvalidDBInstanceState", "InvalidDBClusterStateFault"}


@dataclass(frozen=True)
class RdsSandboxSettings:
    store: str
    instance_class: str | None
    subnet_group: str | None
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class Availability:
    """How waiting for the restored instance ended."""

    ok: bool
    status: str
    timed_out: bool
    timeout_seconds: float
    message: str


@dataclass
class RdsSandbox:
    client: RDSClient
    snapshot: Snapshot
    settings: RdsSandboxSettings
    instance_id: str
    cluster_id: str | None
    tag: str
    arns: dict[str, str] = field(default_factory=dict)

    @property
    def info(self) -> SandboxInfo:
        details = {"instance_id": self.instance_id, "instance_arn": self.arns.get("instance", ""),
                   "region": self.snapshot.region, SANDBOX_TAG: self.tag, "publicly_accessible": "false",
                   "instance_class": self.settings.instance_class or "(as the snapshot's source)"}
        if self.cluster_id:
            details.update(cluster_id=self.cluster_id, cluster_arn=self.arns.get("cluster", ""))
        return SandboxInfo(type="aws-aurora" if self.cluster_id else "aws-rds", engine=self.snapshot.engine,
                           version=self.snapshot.engine_version, details=details)

    def wait_available(self, timeout: float) -> Availability:
        """Wait with boto3's waiters, bounded by `timeout` (at least one poll)."""
        deadline = time.monotonic() + timeout
        try:
            if self.cluster_id:
                self.client.get_waiter("db_cluster_available").wait(
                    DBClusterIdentifier=self.cluster_id,
                    WaiterConfig=waiter_config(deadline - time.monotonic(), POLL_SECONDS))
            self.client.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier=self.instance_id,
                WaiterConfig=waiter_config(deadline - time.monotonic(), POLL_SECONDS))
        except WaiterError as exc:
            status = _last_status(exc.last_response)
            timed_out = "Max attempts exceeded" in str(exc)
            what = self.arns.get("instance") or self.instance_id
            message = (f"RDS instance {what} was not available within restore_timeout ({timeout:.0f}s); "
                       f"last status {status!r}" if timed_out else
                       f"RDS instance {what} failed to restore: status {status!r} ({exc})")
            return Availability(False, status, timed_out, timeout, message)
        except (ClientError, BotoCoreError) as exc:
            raise SandboxError(f"store {self.settings.store}: cannot watch RDS instance {self.instance_id}: "
                               f"{describe_error(exc)}", hint=permission_hint(exc, RESTORE_ACTIONS)) from None
        described = self.client.describe_db_instances(DBInstanceIdentifier=self.instance_id)["DBInstances"][0]
        return Availability(True, str(described.get("DBInstanceStatus", "available")), False, timeout,
                            f"RDS instance {self.arns.get('instance') or self.instance_id} is available")

    def endpoint(self) -> tuple[str, int]:
        described = self.client.describe_db_instances(DBInstanceIdentifier=self.instance_id)["DBInstances"][0]
        endpoint = described.get("Endpoint", {})
        return str(endpoint.get("Address", "")), int(endpoint.get("Port") or self.snapshot.port)


def _last_status(response: Any) -> str:
    for key, status_key in (("DBInstances", "DBInstanceStatus"), ("DBClusters", "Status")):
        items = (response or {}).get(key) or []
        if items:
            return str(items[0].get(status_key, "unknown"))
    return "unknown"


def restored_snapshot(client: RDSClient, snapshot: Snapshot,
                      settings: RdsSandboxSettings) -> contextlib.AbstractContextManager[RdsSandbox]:
    """Start the restore (returns once AWS accepted it: wait with `wait_available`); delete on exit."""
    return restored_sandbox(
        client, snapshot, settings, what="the RDS sandbox", create=_create,
        restore_cluster=lambda sandbox: _restore_cluster(sandbox)["DBCluster"].get("DBClusterArn", ""),
        restore_instance=lambda sandbox: _restore_instance(sandbox)["DBInstance"].get("DBInstanceArn", ""))


@contextlib.contextmanager
def restored_sandbox(client: RDSClient, origin: Snapshot, settings: RdsSandboxSettings, *, what: str,
                     create: Callable[[RdsSandbox, str, Callable[[], str]], None],
                     restore_cluster: Callable[[RdsSandbox], str],
                     restore_instance: Callable[[RdsSandbox], str]) -> Iterator[RdsSandbox]:
    """A temporary sandbox restored from `origin` (a snapshot, or a point in time: aws_rds_pitr.py): the cluster
    (`restore_cluster`) then an instance in it, or the instance (`restore_instance`), each returning its ARN;
    each deletion registered before its creation. `create` runs a restore call, turning its failure into the
    SandboxError that names the origin; `what` names the sandbox when its deletion fails after an earlier error."""
    identifier = sandbox_identifier(settings.store)
    sandbox = RdsSandbox(client, origin, settings, instance_id=identifier,
                         cluster_id=identifier if origin.cluster else None, tag=identifier)
    with cleanup_stack(log, settings.store, what) as cleanup:
        if sandbox.cluster_id:
            cleanup.callback(_delete, sandbox, "cluster", lambda: client.delete_db_cluster(
                DBClusterIdentifier=identifier, SkipFinalSnapshot=True))
            create(sandbox, "cluster", lambda: restore_cluster(sandbox))
            # An Aurora instance has no final snapshot or automated backups of its own: the cluster does.
            cleanup.callback(_delete, sandbox, "instance",
                             lambda: client.delete_db_instance(DBInstanceIdentifier=identifier))
            create(sandbox, "instance", lambda: _cluster_instance(sandbox)["DBInstance"].get("DBInstanceArn", ""))
        else:
            cleanup.callback(_delete, sandbox, "instance", lambda: client.delete_db_instance(
                DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True))
            create(sandbox, "instance", lambda: restore_instance(sandbox))
        yield sandbox


def _create(sandbox: RdsSandbox, what: str, call: Callable[[], str]) -> None:
    try:
        sandbox.arns[what] = call()
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(
            f"store {sandbox.settings.store}: cannot restore {sandbox.snapshot.arn or sandbox.snapshot.id} into "
            f"{what} {sandbox.instance_id}: {describe_error(exc)}",
            hint=permission_hint(exc, RESTORE_ACTIONS) or "check stores.source.instance_class, subnet_group and "
            "security_groups against the snapshot's engine and VPC") from None


def _delete(sandbox: RdsSandbox, what: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except ClientError as exc:
        if error_code(exc) in _GONE:
            return  # never created, or already gone
        if error_code(exc) in _ALREADY_DELETING and "deleting" in describe_error(exc).lower():
            return
        raise _delete_error(sandbox, what, exc) from None
    except BotoCoreError as exc:
        raise _delete_error(sandbox, what, exc) from None
    log.info("store %s: deleting temporary RDS %s %s", sandbox.settings.store, what,
             sandbox.arns.get(what) or sandbox.instance_id)


def _delete_error(sandbox: RdsSandbox, what: str, exc: ClientError | BotoCoreError) -> SandboxError:
    name = sandbox.arns.get(what) or (sandbox.cluster_id if what == "cluster" else sandbox.instance_id)
    return SandboxError(
        f"store {sandbox.settings.store}: could not delete the temporary RDS {what} {name}: {describe_error(exc)}",
        hint=f"it is still running and costs money: delete it now (`restoreproof janitor --delete --older-than 1s`"
        f" finds it by its tag {SANDBOX_TAG}={sandbox.tag})")


def _restore_instance(sandbox: RdsSandbox) -> Any:
    s = sandbox.settings
    params: dict[str, Any] = {
        "DBInstanceIdentifier": sandbox.instance_id,
        "DBSnapshotIdentifier": sandbox.snapshot.id,  # own snapshots only: `include` has no "shared"
        "PubliclyAccessible": False, "MultiAZ": False, "DeletionProtection": False, "CopyTagsToSnapshot": False,
        "BackupRetentionPeriod": 0, "Tags": sandbox_tags(sandbox.tag, s.store),
    }
    params.update(_placement(s, cluster=False))
    return sandbox.client.restore_db_instance_from_db_snapshot(**params)


def _restore_cluster(sandbox: RdsSandbox) -> Any:
    s = sandbox.settings
    params: dict[str, Any] = {
        "DBClusterIdentifier": sandbox.cluster_id, "SnapshotIdentifier": sandbox.snapshot.id,
        "Engine": sandbox.snapshot.engine, "DeletionProtection": False, "CopyTagsToSnapshot": False,
        "Tags": sandbox_tags(sandbox.tag, s.store),
    }
    if s.subnet_group:
        params["DBSubnetGroupName"] = s.subnet_group
    if s.security_groups:
        params["VpcSecurityGroupIds"] = list(s.security_groups)
    return sandbox.client.restore_db_cluster_from_snapshot(**params)


def _cluster_instance(sandbox: RdsSandbox) -> Any:
    assert sandbox.settings.instance_class is not None  # the inventory requires it for a cluster
    return sandbox.client.create_db_instance(
        DBInstanceIdentifier=sandbox.instance_id, DBClusterIdentifier=sandbox.cluster_id or "",
        Engine=sandbox.snapshot.engine, DBInstanceClass=sandbox.settings.instance_class, PubliclyAccessible=False,
        Tags=sandbox_tags(sandbox.tag, sandbox.settings.store),  # type: ignore[arg-type]
    )


def _placement(s: RdsSandboxSettings, *, cluster: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if s.instance_class and not cluster:
        params["DBInstanceClass"] = s.instance_class
    if s.subnet_group:
        params["DBSubnetGroupName"] = s.subnet_group
    if s.security_groups:
        params["VpcSecurityGroupIds"] = list(s.security_groups)
    return params
