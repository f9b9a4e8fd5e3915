"""`restoreproof janitor`: find the AWS sandboxes a run left behind (a killed CI job, a failed delete) by the
harness's tag, and delete those older than a threshold. Listing is the default; deleting needs --delete.

Age comes from the `restoreproof:created-at` tag the harness writes, else the service's own creation time;
a resource of unknown age is listed but never deleted.

One kind of leftover carries no tag: a DynamoDB table AWS Backup restores for the harness (StartRestoreJob,
verifiers/stores/dynamodb/backup_restore.py) is tagged only once the job completed, so a run killed meanwhile leaves
a `restoreproof-<store>-<hex>` table without it. Such a table is a leftover only when an AWS Backup restore job
confirms it (ListRestoreJobs: a DynamoDB job whose CreatedResourceArn is the table's ARN and that no restore
testing plan created); one that cannot be confirmed is named and never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.aws import (
    CREATED_TAG,
    SANDBOX_TAG,
    STORE_TAG,
    backup_client,
    describe_error,
    dynamodb_client,
    error_code,
    permission_hint,
    rds_client,
    s3_client,
    tag_dict,
)
from verifiers.errors import SandboxError
from verifiers.sandboxes.aws_bucket import delete_bucket
from verifiers.sandboxes.janitor_report import (
    Sweep,
    age_seconds,
    by_age,
    older_than_seconds,
    print_report,
    when_created,
)

if TYPE_CHECKING:
    from mypy_boto3_backup import BackupClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_s3 import S3Client

TABLE_PREFIX = "restoreproof-"  # the harness names its tables and buckets so; only those are asked for their tags
CONFIRM_ACTIONS = "backup:ListRestoreJobs"
_GONE = {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "ResourceNotFoundException",
         "NoSuchBucket"}


@dataclass(frozen=True)
class Leftover:
    kind: str  # "rds instance" | "rds cluster" | "dynamodb table" | "s3 bucket"
    name: str
    arn: str
    store: str
    created: datetime | None
    cluster: str | None = None  # the Aurora cluster an instance belongs to
    note: str = ""  # how a leftover without the harness's tag was confirmed as one

    def age(self, now: datetime) -> float | None:
        return age_seconds(self.created, now)

    def describe(self, now: datetime) -> str:
        return (f"{self.kind} {self.name} ({self.arn or 'no ARN'}) of store {self.store or '?'}, "
                f"{when_created(self.created, now)}{f'; {self.note}' if self.note else ''}")


@dataclass(frozen=True)
class NamedTable:
    """A table named with the harness's prefix, and its tags."""

    name: str
    arn: str
    tags: dict[str, str]
    created: Any  # DescribeTable's CreationDateTime

    @property
    def store(self) -> str:
        """The store slug in `restoreproof-<store>-<hex>` (aws.sandbox_identifier)."""
        return self.name.removeprefix(TABLE_PREFIX).rsplit("-", 1)[0]


def _created(tags: dict[str, str], fallback: Any) -> datetime | None:
    text = tags.get(CREATED_TAG, "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return fallback.astimezone(UTC) if isinstance(fallback, datetime) else None


def rds_leftovers(client: RDSClient) -> Iterator[Leftover]:
    for page in client.get_paginator("describe_db_instances").paginate():
        for item in page.get("DBInstances", []):
            tags = tag_dict(item.get("TagList"))
            if SANDBOX_TAG in tags and item.get("DBInstanceStatus") != "deleting":  # already on its way out
                yield Leftover("rds instance", item["DBInstanceIdentifier"], item.get("DBInstanceArn", ""),
                               tags.get(STORE_TAG, ""), _created(tags, item.get("InstanceCreateTime")),
                               item.get("DBClusterIdentifier"))
    for cpage in client.get_paginator("describe_db_clusters").paginate():
        for cluster in cpage.get("DBClusters", []):
            tags = tag_dict(cluster.get("TagList"))
            if SANDBOX_TAG in tags and cluster.get("Status") != "deleting":
                yield Leftover("rds cluster", cluster["DBClusterIdentifier"], cluster.get("DBClusterArn", ""),
                               tags.get(STORE_TAG, ""), _created(tags, cluster.get("ClusterCreateTime")))


def harness_named_tables(client: DynamoDBClient) -> Iterator[NamedTable]:
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            if not name.startswith(TABLE_PREFIX):
                continue
            table = client.describe_table(TableName=name)["Table"]
            if table.get("TableStatus") == "DELETING":
                continue
            arn = table.get("TableArn", "")
            tags = tag_dict(client.list_tags_of_resource(ResourceArn=arn).get("Tags"))
            yield NamedTable(name, arn, tags, table.get("CreationDateTime"))


def table_leftovers(tables: list[NamedTable]) -> Iterator[Leftover]:
    for table in tables:
        if SANDBOX_TAG in table.tags:
            yield Leftover("dynamodb table", table.name, table.arn, table.tags.get(STORE_TAG, ""),
                           _created(table.tags, table.created))


def confirm_untagged(client: BackupClient, tables: list[NamedTable]) -> tuple[list[Leftover], list[str]]:
    """The untagged harness-named `tables` an AWS Backup restore job confirms as the harness's (leftovers), and a
    line for each one it does not (never deleted). Raises ClientError/BotoCoreError when the jobs cannot be listed."""
    jobs = [job for page in client.get_paginator("list_restore_jobs").paginate(ByResourceType="DynamoDB")
            for job in page.get("RestoreJobs", [])]
    confirmed: list[Leftover] = []
    unconfirmed: list[str] = []
    for table in tables:
        restored = [job for job in jobs if job.get("CreatedResourceArn") == table.arn]
        ours = [job for job in restored if not job.get("CreatedBy", {}).get("RestoreTestingPlanArn")]
        if ours:
            job_id = ours[0].get("RestoreJobId", "?")
            confirmed.append(Leftover("dynamodb table", table.name, table.arn, table.store,
                                      _created(table.tags, table.created),
                                      note=f"untagged: restored by AWS Backup job {job_id}"))
            continue
        why = (f"was restored by restore testing plan {restored[0].get('CreatedBy', {}).get('RestoreTestingPlanArn')}"
               " (AWS Backup deletes it)" if restored else "no AWS Backup restore job created it")
        unconfirmed.append(f"dynamodb table {table.name} ({table.arn}) has no {SANDBOX_TAG} tag and {why}")
    return confirmed, unconfirmed


def bucket_leftovers(client: S3Client) -> Iterator[Leftover]:
    """Buckets AWS Backup restored into (verifiers/stores/s3/backup_restore.py); a bucket without tags is not one."""
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if not name.startswith(TABLE_PREFIX):
            continue
        try:
            tags = tag_dict(client.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError as exc:
            if error_code(exc) in ("NoSuchTagSet", "NoSuchBucket"):
                continue
            raise
        if SANDBOX_TAG in tags:
            yield Leftover("s3 bucket", name, f"arn:aws:s3:::{name}", tags.get(STORE_TAG, ""),
                           _created(tags, bucket.get("CreationDate")))


def delete(leftover: Leftover, rds: RDSClient, dynamodb: DynamoDBClient, s3: S3Client | None = None) -> None:
    if leftover.kind == "rds instance" and leftover.cluster:
        rds.delete_db_instance(DBInstanceIdentifier=leftover.name)
    elif leftover.kind == "rds instance":
        rds.delete_db_instance(DBInstanceIdentifier=leftover.name, SkipFinalSnapshot=True,
                               DeleteAutomatedBackups=True)
    elif leftover.kind == "rds cluster":
        rds.delete_db_cluster(DBClusterIdentifier=leftover.name, SkipFinalSnapshot=True)
    elif leftover.kind == "s3 bucket":
        delete_bucket(s3 or s3_client(), leftover.name, store=leftover.store or "?")
    else:
        dynamodb.delete_table(TableName=leftover.name)


def sweep(*, older_than: float, delete_them: bool, region: str | None = None, endpoint_url: str | None = None,
          now: datetime | None = None, progress: Callable[[str], None] = lambda _line: None) -> Sweep[Leftover]:
    """Find the harness's sandboxes; with `delete_them`, delete those older than `older_than` seconds
    (instances before their clusters). Raises ClientError/BotoCoreError only if nothing could be listed."""
    now = now or datetime.now(UTC)
    rds, dynamodb = rds_client(region, endpoint_url), dynamodb_client(region, endpoint_url)
    s3 = s3_client(region, endpoint_url)
    tables = list(harness_named_tables(dynamodb))
    untagged = [t for t in tables if SANDBOX_TAG not in t.tags]
    confirmed, unconfirmed, problem = list[Leftover](), list[str](), ""
    if untagged:
        try:
            confirmed, unconfirmed = confirm_untagged(backup_client(region, endpoint_url), untagged)
        except (ClientError, BotoCoreError) as exc:
            problem = (f"dynamodb table(s) {', '.join(t.name for t in untagged)} without the {SANDBOX_TAG} tag: "
                       "cannot confirm an AWS Backup restore job of the harness made them, so none was deleted: "
                       f"{describe_error(exc)}; {permission_hint(exc, CONFIRM_ACTIONS) or 'run again'}")
    found = [*rds_leftovers(rds), *table_leftovers(tables), *confirmed, *bucket_leftovers(s3)]
    result = by_age(found, now, older_than)
    result.unconfirmed += unconfirmed
    if problem:
        result.errors.append(problem)
    if not delete_them:
        return result
    for leftover in sorted(result.stale, key=lambda f: f.kind == "rds cluster"):
        try:
            delete(leftover, rds, dynamodb, s3)
        except SandboxError as exc:
            result.errors.append(f"{leftover.kind} {leftover.name}: {exc.describe()}")
            continue
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _GONE:
                result.deleted.append(leftover)
                continue
            result.errors.append(f"{leftover.kind} {leftover.name}: {describe_error(exc)}")
            continue
        except BotoCoreError as exc:
            result.errors.append(f"{leftover.kind} {leftover.name}: {describe_error(exc)}")
            continue
        result.deleted.append(leftover)
        progress(f"deleted {leftover.describe(now)}")
    return result


def run(args: Any) -> int:
    """Exit 0 when every stale sandbox was listed (dry run) or deleted; 2 on any AWS error."""
    older_than = older_than_seconds(args.older_than)
    now = datetime.now(UTC)
    try:
        result = sweep(older_than=older_than, delete_them=args.delete, region=args.region,
                       endpoint_url=args.endpoint_url, now=now)
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(f"janitor: cannot list the sandboxes: {describe_error(exc)}",
                           hint=permission_hint(exc, "rds:DescribeDBInstances, rds:DescribeDBClusters, "
                                                "dynamodb:ListTables, dynamodb:DescribeTable, "
                                                "dynamodb:ListTagsOfResource, s3:ListAllMyBuckets and "
                                                "s3:GetBucketTagging")) from None
    return print_report(result, now=now, older_than=older_than, deleting=args.delete, could_not_delete=" ",
                        found=f"sandbox(es) tagged {SANDBOX_TAG} (or confirmed by AWS Backup)")
