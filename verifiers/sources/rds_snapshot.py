"""RDS instance and Aurora cluster snapshots: the newest available one of the chosen types, or a named one.

Nothing is downloaded: `fetch` confirms the snapshot is still available and describes it for the evidence.
A storage-level snapshot has no content hash; the artifact's `sha256` is that of its identity record (ARN,
creation time, engine, size, encryption), so evidence names exactly which snapshot was restored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import describe_error, error_code, permission_hint, rds_client
from verifiers.errors import SourceError
from verifiers.sources import Artifact, Located
from verifiers.sources.s3 import manifest_file
from verifiers.sources.snapshot_manifests import DETAILS_KEY as PAIRING_KEY
from verifiers.sources.snapshot_manifests import Pairing, manifest_candidates, names_one_file, pair
from verifiers.store_settings import RdsSnapshotSource

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

DESCRIBE_ACTIONS = "rds:DescribeDBSnapshots and rds:DescribeDBClusterSnapshots"
_SNAPSHOT_TYPES = {"automated": "automated", "manual": "manual", "aws-backup": "awsbackup"}
_NOT_FOUND = {"DBSnapshotNotFound", "DBSnapshotNotFoundFault", "DBClusterSnapshotNotFoundFault"}
GIB = 1 << 30


@dataclass(frozen=True)
class Snapshot:
    """What the harness needs of an RDS or Aurora snapshot, the same for both."""

    id: str
    arn: str
    cluster: bool  # an Aurora cluster snapshot (restored as cluster + instance)
    source_id: str  # the instance or cluster it was taken of
    created: str  # ISO 8601 UTC
    snapshot_type: str
    status: str
    engine: str
    engine_version: str
    encrypted: bool
    kms_key_id: str
    allocated_gib: int
    master_username: str
    port: int
    region: str
    endpoint_url: str

    @property
    def identity_sha256(self) -> str:
        identity = {k: v for k, v in asdict(self).items() if k not in ("status", "region", "endpoint_url")}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.created)

    def details(self) -> dict[str, str]:
        """As strings, for Located/Artifact details and so the evidence."""
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in asdict(self).items()}

    def evidence(self) -> dict[str, str]:
        """What the evidence's artifact record adds for a snapshot (it has no file, size or content hash)."""
        return {
            "snapshot_id": self.id, "snapshot_arn": self.arn, "snapshot_type": self.snapshot_type,
            "snapshot_of": f"{'cluster' if self.cluster else 'instance'} {self.source_id}",
            "snapshot_created": self.created, "engine": f"{self.engine} {self.engine_version}".strip(),
            "encrypted": str(self.encrypted).lower(), "kms_key_id": self.kms_key_id or "-",
            "allocated_storage_gib": str(self.allocated_gib),
            "sha256_of": "the snapshot's identity record (ARN, creation time, engine, size, encryption)",
            "bytes_are": "allocated storage",
        }

    @classmethod
    def from_details(cls, details: Any) -> Snapshot:
        fields = cls.__dataclass_fields__
        raw = {k: details[k] for k in fields}
        return cls(**{**raw, "cluster": raw["cluster"] == "true", "encrypted": raw["encrypted"] == "true",
                      "allocated_gib": int(raw["allocated_gib"]), "port": int(raw["port"])})


def _from_instance_snapshot(raw: Any, region: str, endpoint_url: str) -> Snapshot:
    return Snapshot(
        id=raw["DBSnapshotIdentifier"], arn=raw.get("DBSnapshotArn", ""), cluster=False,
        source_id=raw.get("DBInstanceIdentifier", ""), created=_iso(raw.get("SnapshotCreateTime")),
        snapshot_type=raw.get("SnapshotType", ""), status=raw.get("Status", ""), engine=raw.get("Engine", ""),
        engine_version=raw.get("EngineVersion", ""), encrypted=bool(raw.get("Encrypted")),
        kms_key_id=raw.get("KmsKeyId", ""), allocated_gib=int(raw.get("AllocatedStorage") or 0),
        master_username=raw.get("MasterUsername", ""),
        port=int(raw.get("Port") or default_port(raw.get("Engine", ""))), region=region, endpoint_url=endpoint_url,
    )


def _from_cluster_snapshot(raw: Any, region: str, endpoint_url: str) -> Snapshot:
    return Snapshot(
        id=raw["DBClusterSnapshotIdentifier"], arn=raw.get("DBClusterSnapshotArn", ""), cluster=True,
        source_id=raw.get("DBClusterIdentifier", ""), created=_iso(raw.get("SnapshotCreateTime")),
        snapshot_type=raw.get("SnapshotType", ""), status=raw.get("Status", ""), engine=raw.get("Engine", ""),
        engine_version=raw.get("EngineVersion", ""), encrypted=bool(raw.get("StorageEncrypted")),
        kms_key_id=raw.get("KmsKeyId", ""), allocated_gib=int(raw.get("AllocatedStorage") or 0),
        master_username=raw.get("MasterUsername", ""),
        port=int(raw.get("Port") or default_port(raw.get("Engine", ""))), region=region, endpoint_url=endpoint_url,
    )


def default_port(engine: str) -> int:
    """The engine's own port, for a snapshot record that names none."""
    return 5432 if "postgres" in engine else 3306 if ("mysql" in engine or engine in ("aurora", "mariadb")) else 0


def _iso(moment: Any) -> str:
    when = moment if isinstance(moment, datetime) else datetime.now(UTC)
    return when.astimezone(UTC).isoformat()


def find_snapshot(client: RDSClient, source: RdsSnapshotSource, *, store: str) -> Snapshot:
    """The snapshot the inventory names: `latest` of the `include`d types, or one by identifier or ARN."""
    region, endpoint = client.meta.region_name, source.endpoint_url or ""
    origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"
    try:
        if source.snapshot != "latest":
            return _named(client, source, region, endpoint, store=store)
        candidates = [s for s in _of_origin(client, source, region, endpoint) if s.status == "available"]
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND:
            raise SourceError(
                f"store {store}: RDS snapshot {source.snapshot!r} of {origin} does not exist in region {region}",
                hint=f"list the snapshots with `aws rds describe-db{'-cluster' if source.cluster else ''}-snapshots`"
                " and fix stores.source.snapshot, or use snapshot = \"latest\"") from None
        raise SourceError(f"store {store}: cannot list the RDS snapshots of {origin} in region {region}: "
                          f"{describe_error(exc)}", hint=permission_hint(exc, DESCRIBE_ACTIONS)) from None
    if not candidates:
        raise SourceError(
            f"store {store}: {origin} has no available {'/'.join(source.include)} snapshot in region {region}",
            hint="check stores.source.instance/cluster, region and include (automated, manual, aws-backup)")
    return max(candidates, key=lambda s: (s.created, s.id))


def _named(client: RDSClient, source: RdsSnapshotSource, region: str, endpoint: str, *, store: str) -> Snapshot:
    """The named snapshot, which must be available: one still being created fails at once, with its progress,
    before anything is restored."""
    if source.cluster:
        items: list[Any] = list(client.describe_db_cluster_snapshots(
            DBClusterSnapshotIdentifier=source.snapshot).get("DBClusterSnapshots", []))
        found = [_from_cluster_snapshot(s, region, endpoint) for s in items]
    else:
        items = list(client.describe_db_snapshots(DBSnapshotIdentifier=source.snapshot).get("DBSnapshots", []))
        found = [_from_instance_snapshot(s, region, endpoint) for s in items]
    if not found:
        raise ClientError({"Error": {"Code": "DBSnapshotNotFound", "Message": source.snapshot}},
                          "DescribeDBSnapshots")
    if found[0].status != "available":
        progress = items[0].get("PercentProgress")
        done = f", {progress}% done" if progress is not None else ""
        raise SourceError(f"store {store}: RDS snapshot {found[0].arn or found[0].id} is {found[0].status!r}{done}, "
                          "not available: nothing was restored",
                          hint="wait for it to finish, or use snapshot = \"latest\" (the newest available one)")
    return found[0]


def _of_origin(client: RDSClient, source: RdsSnapshotSource, region: str, endpoint: str) -> list[Snapshot]:
    out: list[Snapshot] = []
    for kind in source.include:
        if source.cluster:
            pages = client.get_paginator("describe_db_cluster_snapshots").paginate(
                DBClusterIdentifier=source.cluster, SnapshotType=_SNAPSHOT_TYPES[kind])
            out += [_from_cluster_snapshot(s, region, endpoint) for p in pages for s in p.get("DBClusterSnapshots", [])]
        else:
            assert source.instance is not None
            ipages = client.get_paginator("describe_db_snapshots").paginate(
                DBInstanceIdentifier=source.instance, SnapshotType=_SNAPSHOT_TYPES[kind])
            out += [_from_instance_snapshot(s, region, endpoint) for p in ipages for s in p.get("DBSnapshots", [])]
    return out


def locate_manifest(source: RdsSnapshotSource, *, base_dir: Path, store: str) -> Path | None:
    if source.manifest is None:
        return None
    return manifest_file(source.manifest, base_dir=base_dir, store=store, region=source.region,
                         endpoint_url=source.endpoint_url)


def pair_manifest(source: RdsSnapshotSource, snapshot: Snapshot, *, base_dir: Path, store: str) -> Pairing | None:
    """The snapshot's manifest among those `manifest` holds (sources/snapshot_manifests.py); None: no manifest."""
    if source.manifest is None:
        return None
    candidates = manifest_candidates(source.manifest, base_dir=base_dir, store=store, region=source.region,
                                     endpoint_url=source.endpoint_url)
    if len(candidates) == 1 and candidates[0].problem and names_one_file(source.manifest, base_dir=base_dir):
        return None  # the one file named is no manifest: the kind's reader names what is wrong with it
    return pair(candidates, snapshot_id=snapshot.id, snapshot_arn=snapshot.arn, created=snapshot.created_at,
                tolerance=source.manifest_tolerance)


class RdsSnapshots:
    def locate(self, source: RdsSnapshotSource, *, base_dir: Path, store: str) -> Located:
        snapshot = find_snapshot(rds_client(source.region, source.endpoint_url), source, store=store)
        pairing = pair_manifest(source, snapshot, base_dir=base_dir, store=store)
        details = snapshot.details()
        if pairing is None:
            manifest = locate_manifest(source, base_dir=base_dir, store=store)
        else:  # unpaired: no manifest path, and aws_snapshot.py fails the `manifest` check
            details[PAIRING_KEY] = pairing.to_json()
            manifest = Path(pairing.matched.path) if pairing.matched else None
        return Located(location=snapshot.arn or snapshot.id, path=Path(snapshot.id), manifest_path=manifest,
                       modified=snapshot.created_at, details=details)

    def fetch(self, located: Located, *, store: str, work_dir: Path | None = None) -> Artifact:
        """Confirm the planned snapshot still exists and is available (it may have expired since)."""
        planned = Snapshot.from_details(located.details)
        client = rds_client(planned.region or None, planned.endpoint_url or None)
        try:
            if planned.cluster:
                items = client.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=planned.id)
                status = items["DBClusterSnapshots"][0].get("Status", "") if items["DBClusterSnapshots"] else ""
            else:
                found = client.describe_db_snapshots(DBSnapshotIdentifier=planned.id)
                status = found["DBSnapshots"][0].get("Status", "") if found["DBSnapshots"] else ""
        except (ClientError, BotoCoreError) as exc:
            gone = isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND
            raise SourceError(f"store {store}: RDS snapshot {planned.arn or planned.id} "
                              f"{'was deleted since it was planned' if gone else 'cannot be described'}: "
                              f"{describe_error(exc)}",
                              hint=permission_hint(exc, DESCRIBE_ACTIONS) or "run again to pick the newest") from None
        if status != "available":
            raise SourceError(f"store {store}: RDS snapshot {planned.arn or planned.id} is {status or 'gone'!r}, "
                              "not available", hint="run again to pick the newest available snapshot")
        return Artifact(location=located.location, path=located.path, sha256=planned.identity_sha256,
                        bytes=planned.allocated_gib * GIB, modified=planned.created_at,
                        manifest_path=located.manifest_path, details=planned.evidence())
