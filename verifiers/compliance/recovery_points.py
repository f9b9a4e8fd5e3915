"""The real RPO: the largest gap between consecutive recovery points over a window (a backup that failed for
three days last week is data loss the newest backup's age does not show), and for point-in-time recovery the
lag of the latest restorable time. Both are judged against the store's `rpo`.

Recovery points come from the source: the modification times of every artifact the file glob matches, the
LastModified of every matching S3 object, the creation times of RDS / Aurora snapshots (of every type the
source includes) and of DynamoDB backups.
"""

from __future__ import annotations

import fnmatch
import glob
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.checks import CheckResult
from verifiers.durations import format_duration
from verifiers.errors import SourceError
from verifiers.store_settings import AnyStore, DynamoDbBackupSource, FileSource, RdsSnapshotSource, S3Source

MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class Gap:
    start: datetime  # a recovery point (or the window's start, when there was none before it)
    end: datetime  # the next recovery point, or now
    to_now: bool  # the open gap since the newest point

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def largest_gap(points: Sequence[datetime], *, now: datetime, window: float) -> tuple[Gap, int]:
    """The largest gap between consecutive recovery points within [now - window, now], counting the open gap
    from the newest point to now, and the one from the last point before the window into it (that data loss
    overlaps the window). With no point at all, the whole window is the gap. Also: points in the window."""
    start = now - timedelta(seconds=window)
    inside = sorted(p for p in points if start <= p <= now)
    before = [p for p in points if p < start]
    chain = ([max(before)] if before else [] if inside else [start]) + inside
    gaps = [Gap(a, b, False) for a, b in itertools.pairwise(chain)]
    gaps.append(Gap(chain[-1], now, True))
    return max(gaps, key=lambda g: g.seconds), len(inside)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def judge_gap(points: Sequence[datetime], *, rpo: float, window: float, now: datetime, what: str) -> CheckResult:
    gap, count = largest_gap(points, now=now, window=window)
    passed = gap.seconds <= rpo
    span = f"from {_iso(gap.start)} to {'now' if gap.to_now else _iso(gap.end)}"
    verdict = "within" if passed else "OVER"
    message = (f"largest gap between recovery points over the last {format_duration(window)}: "
               f"{format_duration(gap.seconds)} ({span}), {verdict} the target {format_duration(rpo)}; "
               f"{count} {what} in the window")
    return CheckResult("rpo_gap", "rpo_gap", passed, round(gap.seconds, 3), round(rpo, 3), message)


def judge_pitr(latest_restorable: datetime | None, *, rpo: float, now: datetime, what: str) -> CheckResult:
    """Point-in-time recovery: how far behind now the latest restorable time is (None: PITR is off)."""
    if latest_restorable is None:
        return CheckResult("pitr_lag", "pitr_lag", False, None, round(rpo, 3),
                           f"{what}: point-in-time recovery is not enabled (no latest restorable time)")
    lag = max(0.0, (now - latest_restorable).total_seconds())
    passed = lag <= rpo
    message = (f"{what}: latest restorable time {_iso(latest_restorable)} lags {format_duration(lag)}, "
               f"{'within' if passed else 'OVER'} the target {format_duration(rpo)}")
    return CheckResult("pitr_lag", "pitr_lag", passed, round(lag, 3), round(rpo, 3), message)


def recovery_points(store: AnyStore, base_dir: Path) -> tuple[list[datetime], str]:
    """Every recovery point of the store's source, and what they are (for the message)."""
    source = store.source
    if isinstance(source, FileSource):
        return file_points(source, base_dir), "artifacts"
    if isinstance(source, S3Source):
        return s3_points(source, store=store.name), "objects"
    if isinstance(source, RdsSnapshotSource):
        return [s.created_at for s in rds_snapshots(source, store=store.name)], "snapshots"
    if isinstance(source, DynamoDbBackupSource):
        return dynamodb_points(source, store=store.name), "backups"
    raise SourceError(f"store {store.name}: {source.type} sources have no recovery points to measure gaps between",
                      hint="set hygiene.rpo_gap = false")


def file_points(source: FileSource, base_dir: Path) -> list[datetime]:
    pattern = Path(source.path) if Path(source.path).is_absolute() else base_dir / source.path
    return [datetime.fromtimestamp(Path(m).stat().st_mtime, tz=UTC)
            for m in glob.glob(str(pattern)) if not m.endswith(MANIFEST_SUFFIX)]


def s3_points(source: S3Source, *, store: str) -> list[datetime]:
    from verifiers.aws import s3_client

    client = s3_client(source.region, source.endpoint_url)
    found: list[datetime] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith((MANIFEST_SUFFIX, "/")):
                    continue
                if fnmatch.fnmatchcase(key[len(source.prefix):], source.pattern):
                    found.append(obj["LastModified"].astimezone(UTC))
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot list s3://{source.bucket}/{source.prefix}", exc, "s3:ListBucket") from None
    return found


def rds_snapshots(source: RdsSnapshotSource, *, store: str, kinds: Sequence[str] | None = None,
                  region: str | None = None, endpoint_url: str | None = None, client: Any = None) -> list[Any]:
    """The available snapshots of the source's instance or cluster (of `kinds`, default the source's include),
    in its region or another one, or through `client` another account's (a copy keeps the source's instance
    identifier)."""
    from verifiers.aws import rds_client
    from verifiers.sources.rds_snapshot import _of_origin  # the listing the source itself uses

    wanted = source.model_copy(update={"include": list(kinds or source.include)})
    client = client or rds_client(region or source.region, endpoint_url or source.endpoint_url)
    try:
        found = _of_origin(client, wanted, client.meta.region_name, endpoint_url or source.endpoint_url or "")
    except (ClientError, BotoCoreError) as exc:
        origin = f"cluster {source.cluster}" if source.cluster else f"instance {source.instance}"
        raise aws_error(store, f"cannot list the RDS snapshots of {origin} in {client.meta.region_name}", exc,
                        "rds:DescribeDBSnapshots and rds:DescribeDBClusterSnapshots") from None
    return [s for s in found if s.status == "available"]


def dynamodb_points(source: DynamoDbBackupSource, *, store: str) -> list[datetime]:
    from verifiers.aws import dynamodb_client

    client = dynamodb_client(source.region, source.endpoint_url)
    try:
        pages = client.get_paginator("list_backups").paginate(TableName=source.table, BackupType="ALL")
        return [b["BackupCreationDateTime"].astimezone(UTC) for page in pages for b in page.get("BackupSummaries", [])
                if b.get("BackupStatus") == "AVAILABLE"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot list the DynamoDB backups of table {source.table}", exc,
                        "dynamodb:ListBackups") from None


def latest_restorable(store: AnyStore) -> tuple[datetime | None, str]:
    """The latest restorable time of the source's instance, cluster or table (None: PITR off), and its name."""
    source = store.source
    try:
        if isinstance(source, RdsSnapshotSource):
            from verifiers.aws import rds_client

            client = rds_client(source.region, source.endpoint_url)
            if source.cluster:
                cluster = client.describe_db_clusters(DBClusterIdentifier=source.cluster)["DBClusters"][0]
                return _utc(cluster.get("LatestRestorableTime")), f"cluster {source.cluster}"
            assert source.instance is not None
            instance = client.describe_db_instances(DBInstanceIdentifier=source.instance)["DBInstances"][0]
            when = _utc(instance.get("LatestRestorableTime")) if instance.get("BackupRetentionPeriod") else None
            return when, f"instance {source.instance}"
        if isinstance(source, DynamoDbBackupSource):
            from verifiers.aws import dynamodb_client

            ddb = dynamodb_client(source.region, source.endpoint_url)
            described = ddb.describe_continuous_backups(TableName=source.table)["ContinuousBackupsDescription"]
            pitr = described.get("PointInTimeRecoveryDescription", {})
            enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
            return (_utc(pitr.get("LatestRestorableDateTime")) if enabled else None), f"table {source.table}"
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store.name, "cannot read the latest restorable time", exc,
                        "rds:DescribeDBInstances, rds:DescribeDBClusters or dynamodb:DescribeContinuousBackups") \
            from None
    raise SourceError(f"store {store.name}: {source.type} sources have no point-in-time recovery",
                      hint="set hygiene.pitr = false")


def _utc(value: Any) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def aws_error(store: str, what: str, exc: ClientError | BotoCoreError, actions: str) -> SourceError:
    from verifiers.aws import describe_error, permission_hint

    return SourceError(f"store {store}: {what}: {describe_error(exc)}",
                       hint=permission_hint(exc, actions) or "check the source's region and names in the inventory")
