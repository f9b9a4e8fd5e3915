"""A point in time of an RDS instance or Aurora cluster as a source (`restore_to` set): its restore window read
from AWS, the moment chosen in it (verifiers/point_in_time.py), and a record shaped like a snapshot's, so the
rest of the flow (engine check, master user, evidence) is the snapshot's.

The window: an Aurora cluster's EarliestRestorableTime and LatestRestorableTime (DescribeDBClusters); an
instance's LatestRestorableTime (DescribeDBInstances) and the EarliestTime of its automated backups' restore
window (DescribeDBInstanceAutomatedBackups), else the creation of its oldest automated snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, permission_hint, rds_client
from verifiers.errors import SourceError
from verifiers.point_in_time import OutsideWindow, RestoreWindow, choose_restore_time, parse_restore_to
from verifiers.sources import Artifact, Located
from verifiers.sources.rds_snapshot import GIB, RdsSnapshots, Snapshot, default_port
from verifiers.store_settings import RdsSnapshotSource

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

POINT_IN_TIME = "point-in-time"  # the snapshot_type of such a record
WINDOW_ACTIONS = ("rds:DescribeDBInstances, rds:DescribeDBInstanceAutomatedBackups, rds:DescribeDBSnapshots and "
                  "rds:DescribeDBClusters")


def locate_point_in_time(client: RDSClient, source: RdsSnapshotSource, *, store: str,
                         now: datetime | None = None) -> Located:
    """The moment to restore `source`'s instance or cluster to, and what the evidence says of it."""
    assert source.restore_to is not None
    origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"
    region, endpoint = client.meta.region_name, source.endpoint_url or ""
    try:
        raw, window = _cluster(client, source.cluster) if source.cluster else _instance(client, source.instance or "")
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"store {store}: cannot read the restore window of {origin} in region {region}: "
                          f"{describe_error(exc)}", hint=permission_hint(exc, WINDOW_ACTIONS)
                          or "check stores.source.instance/cluster and region") from None
    except NoWindow as exc:
        raise exc.error(store) from None
    try:
        moment = choose_restore_time(parse_restore_to(source.restore_to), window, seed=source.restore_seed)
    except OutsideWindow as exc:
        raise SourceError(f"store {store}: {origin}: {exc}",
                          hint="set restore_to to a time within the window, \"latest\" or \"random\"") from None
    record = _record(raw, cluster=source.cluster is not None, moment=moment, region=region, endpoint=endpoint)
    details = {**record.details(), "restore_to": source.restore_to,
               "restore_seed": "" if source.restore_seed is None else str(source.restore_seed),
               "restore_time": moment.isoformat(), "earliest_restorable": window.earliest.isoformat(),
               "latest_restorable": window.latest.isoformat(),
               "window_read_at": (now or datetime.now(UTC)).isoformat()}
    return Located(location=f"{record.arn or record.source_id} at {moment.isoformat()}", path=Path(record.source_id),
                   manifest_path=None, modified=moment, details=details)


def _cluster(client: RDSClient, name: str) -> tuple[Any, RestoreWindow]:
    raw = client.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    earliest, latest = raw.get("EarliestRestorableTime"), raw.get("LatestRestorableTime")
    if not isinstance(earliest, datetime) or not isinstance(latest, datetime):
        raise NoWindow(f"cluster {name}", "its description has no EarliestRestorableTime / LatestRestorableTime")
    return raw, RestoreWindow(earliest.astimezone(UTC), latest.astimezone(UTC))


def _instance(client: RDSClient, name: str) -> tuple[Any, RestoreWindow]:
    raw = client.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    latest = raw.get("LatestRestorableTime")
    if not raw.get("BackupRetentionPeriod") or not isinstance(latest, datetime):
        raise NoWindow(f"instance {name}", "its automated backups are off (BackupRetentionPeriod 0), so it has no "
                       "restore window")
    # Retained automated backups of an earlier instance of the same name are listed too (their own DbiResourceId,
    # status "retained"): this instance cannot restore into their window, so only its own count.
    this = raw.get("DbiResourceId")
    backups = client.describe_db_instance_automated_backups(DBInstanceIdentifier=name)
    windows = [b["RestoreWindow"]["EarliestTime"] for b in backups.get("DBInstanceAutomatedBackups", [])
               if isinstance(b.get("RestoreWindow", {}).get("EarliestTime"), datetime)
               and b.get("Status", "active") == "active" and b.get("DbiResourceId", this) == this]
    if not windows:  # no restore window reported: the oldest automated snapshot starts it
        pages = client.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=name,
                                                                       SnapshotType="automated")
        windows = [s["SnapshotCreateTime"] for page in pages for s in page.get("DBSnapshots", [])
                   if isinstance(s.get("SnapshotCreateTime"), datetime) and s.get("DbiResourceId", this) == this]
    if not windows:
        raise NoWindow(f"instance {name}", "it has no automated backup yet")
    return raw, RestoreWindow(min(windows).astimezone(UTC), latest.astimezone(UTC))


class NoWindow(Exception):
    """The instance or cluster has no restore window (automated backups off, or none taken yet)."""

    def __init__(self, origin: str, why: str) -> None:
        super().__init__(f"{origin} cannot be restored to a point in time: {why}")

    def error(self, store: str) -> SourceError:
        return SourceError(f"store {store}: {self}", hint="enable automated backups (a backup retention period of "
                           "at least 1 day), or remove restore_to to restore a snapshot")


def _record(raw: Any, *, cluster: bool, moment: datetime, region: str, endpoint: str) -> Snapshot:
    name = raw["DBClusterIdentifier"] if cluster else raw["DBInstanceIdentifier"]
    port = raw.get("Port") if cluster else (raw.get("Endpoint") or {}).get("Port") or raw.get("DbInstancePort")
    return Snapshot(
        id=f"{name}@{moment.isoformat()}", arn=raw.get("DBClusterArn" if cluster else "DBInstanceArn", ""),
        cluster=cluster, source_id=name, created=moment.isoformat(), snapshot_type=POINT_IN_TIME,
        status="available", engine=raw.get("Engine", ""), engine_version=raw.get("EngineVersion", ""),
        encrypted=bool(raw.get("StorageEncrypted")), kms_key_id=raw.get("KmsKeyId", ""),
        allocated_gib=int(raw.get("AllocatedStorage") or 0), master_username=raw.get("MasterUsername", ""),
        port=int(port or default_port(raw.get("Engine", ""))), region=region, endpoint_url=endpoint)


def confirm_point_in_time(client: RDSClient, located: Located, *, store: str) -> None:
    """At fetch: the chosen moment is still restorable (the window's start moves on as backups expire)."""
    planned = Snapshot.from_details(located.details)
    moment = datetime.fromisoformat(located.details["restore_time"])
    try:
        _, window = (_cluster if planned.cluster else _instance)(client, planned.source_id)
    except NoWindow as exc:
        raise exc.error(store) from None
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"store {store}: cannot read the restore window of {planned.source_id}: "
                          f"{describe_error(exc)}", hint=permission_hint(exc, WINDOW_ACTIONS)) from None
    if moment < window.earliest:  # its latest only moves on
        raise SourceError(f"store {store}: {planned.source_id} can no longer be restored to {moment.isoformat()}: "
                          f"the restore window is now {window}", hint="run again to choose a time within it")


def point_in_time_evidence(located: Located) -> dict[str, str]:
    """What the evidence's artifact record adds for a point in time."""
    keys = ("restore_to", "restore_seed", "restore_time", "earliest_restorable", "latest_restorable",
            "window_read_at")
    return {k: located.details[k] for k in keys if located.details.get(k)}


class RdsRestorePoints(RdsSnapshots):
    """The rds-snapshot source: a snapshot (rds_snapshot.py), or with `restore_to` a point in time."""

    def locate(self, source: RdsSnapshotSource, *, base_dir: Path, store: str) -> Located:
        if source.restore_to is None:
            return super().locate(source, base_dir=base_dir, store=store)
        return locate_point_in_time(rds_client(source.region, source.endpoint_url), source, store=store)

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        if located.details.get("snapshot_type") != POINT_IN_TIME:
            return super().fetch(located, store=store, work_dir=work_dir)
        planned = Snapshot.from_details(located.details)
        confirm_point_in_time(rds_client(planned.region or None, planned.endpoint_url or None), located, store=store)
        details = {**planned.evidence(), **point_in_time_evidence(located),
                   "sha256_of": "the restore point's identity record (instance or cluster ARN, restore time, engine)"}
        return Artifact(location=located.location, path=located.path, sha256=planned.identity_sha256,
                        bytes=planned.allocated_gib * GIB, modified=planned.created_at, manifest_path=None,
                        details=details)
