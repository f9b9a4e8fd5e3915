"""`restoreproof janitor` against moto's server: a dry run lists the harness's stale sandboxes (by tag and age)
and deletes nothing; --delete removes exactly those, instances before their clusters; others are never touched."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.aws_backup_support import Backup, backup_stub  # noqa: F401  # backup_stub: the `backup` fixture
from tests.aws_support import MotoServer, harness_leftovers
from verifiers.aws import Tag, sandbox_tags
from verifiers.cli import main

OLD = datetime.now(UTC) - timedelta(days=2)
PASSWORD = "not-a-real-password"


def instance(name: str, tags: list[Tag], cluster: str | None = None) -> None:
    extra = {"DBClusterIdentifier": cluster, "Engine": "aurora-postgresql"} if cluster else {
        "Engine": "postgres", "MasterUsername": "app", "MasterUserPassword": PASSWORD, "AllocatedStorage": 20}
    # RDS's stubs mark Key/Value optional, so a Tag with both required does not match them: hence the ignores
    boto3.client("rds").create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t4g.medium",
                                           Tags=tags, **extra)  # type: ignore[arg-type]


@pytest.fixture
def leftovers(aws: MotoServer) -> Iterator[str]:
    """Two stale sandboxes (an instance; an Aurora cluster with its instance), a stale table, a fresh sandbox,
    and production resources that carry no harness tag. Yields the sandboxes' id suffix."""
    ID = secrets.token_hex(4)  # moto keeps a deleted cluster's automated snapshot: never reuse a cluster name
    rds, dynamodb = boto3.client("rds"), boto3.client("dynamodb")
    instance(f"restoreproof-saas-{ID}1", sandbox_tags(f"restoreproof-saas-{ID}1", "saas", OLD))
    rds.create_db_cluster(DBClusterIdentifier=f"restoreproof-aurora-{ID}2", Engine="aurora-postgresql",
                          MasterUsername="app", MasterUserPassword=PASSWORD,
                          Tags=sandbox_tags(f"restoreproof-aurora-{ID}2", "aurora", OLD))  # type: ignore[arg-type]
    instance(f"restoreproof-aurora-{ID}2", sandbox_tags(f"restoreproof-aurora-{ID}2", "aurora", OLD),
             cluster=f"restoreproof-aurora-{ID}2")
    instance(f"restoreproof-saas-{ID}0", sandbox_tags(f"restoreproof-saas-{ID}0", "saas"))
    instance("prod-untouchable", [Tag(Key="team", Value="billing")])
    for table, tags in ((f"restoreproof-orders-{ID}3", sandbox_tags(f"restoreproof-orders-{ID}3", "orders", OLD)),
                        ("orders", [Tag(Key="team", Value="billing")])):
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", Tags=tags,
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    yield ID
    gone = (rds.exceptions.DBInstanceNotFoundFault, rds.exceptions.DBClusterNotFoundFault,
            dynamodb.exceptions.ResourceNotFoundException)  # what the test under way already deleted
    for name in (f"restoreproof-saas-{ID}0", "prod-untouchable", f"restoreproof-saas-{ID}1",
                 f"restoreproof-aurora-{ID}2"):
        with contextlib.suppress(*gone):
            rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    with contextlib.suppress(*gone):
        rds.delete_db_cluster(DBClusterIdentifier=f"restoreproof-aurora-{ID}2", SkipFinalSnapshot=True)
    for table in ("orders", f"restoreproof-orders-{ID}3"):
        with contextlib.suppress(*gone):
            dynamodb.delete_table(TableName=table)


def names(moto: MotoServer) -> set[str]:
    """The harness's instances, clusters and tables still in the account."""
    return {entry.split(" ", 1)[1] for entry in harness_leftovers(moto.url) if "snapshot" not in entry}


def test_dry_run_lists_stale_sandboxes_and_deletes_nothing(aws: MotoServer, leftovers: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ID = leftovers
    before = names(aws)
    assert main(["janitor", "--older-than", "6h"]) == 0
    out = capsys.readouterr().out
    would = [line for line in out.splitlines() if line.startswith("would delete: ")]
    assert {line.split()[4] for line in would} == {f"restoreproof-saas-{ID}1", f"restoreproof-aurora-{ID}2",
                                                   f"restoreproof-orders-{ID}3"}
    assert len(would) == 4  # the Aurora cluster and its instance
    assert f"would delete: rds instance restoreproof-saas-{ID}1 (arn:aws:rds:us-east-1:123456789012:db:" in out
    assert "of store saas, created " in out
    assert f"kept (newer than 6h00m): rds instance restoreproof-saas-{ID}0" in out
    assert "prod-untouchable" not in out
    assert "dry run, nothing deleted (pass --delete to delete them)" in out
    assert names(aws) == before


def test_delete_removes_only_stale_harness_sandboxes(aws: MotoServer, leftovers: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ID = leftovers
    assert main(["janitor", "--older-than", "1d", "--delete", "--endpoint-url", aws.url, "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert out.count("deleted: ") == 4
    assert out.rstrip().endswith("4 deleted")
    assert names(aws) == {f"restoreproof-saas-{ID}0"}
    rds = boto3.client("rds")
    assert {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]} >= {"prod-untouchable"}
    assert "orders" in boto3.client("dynamodb").list_tables()["TableNames"]


def test_unreachable_aws_is_an_error_exit(aws: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["janitor", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("restoreproof: error: janitor: cannot list the sandboxes: ")


def test_bad_threshold_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["janitor", "--older-than", "soon"]) == 2
    assert "--older-than 'soon'" in capsys.readouterr().err


def test_a_stale_tagged_bucket_is_emptied_of_every_version_and_deleted_others_are_kept(
        aws: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    """An AWS Backup S3 restore's temporary bucket (verifiers/stores/s3/backup_restore.py) left by a killed run."""
    s3 = boto3.client("s3")
    ID = secrets.token_hex(4)
    stale, untagged = f"restoreproof-assets-{ID}", f"restoreproof-notes-{ID}"
    for bucket in (stale, untagged, f"prod-assets-{ID}"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=stale, Tagging={"TagSet": [dict(t) for t in sandbox_tags(stale, "assets", OLD)]})  # type: ignore[misc]
    s3.put_bucket_versioning(Bucket=stale, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=stale, Key="invoices/1.pdf", Body=body)
    s3.delete_object(Bucket=stale, Key="invoices/1.pdf")  # a delete marker too
    assert main(["janitor", "--older-than", "1d", "--delete"]) == 0
    out = capsys.readouterr().out
    assert f"deleted: s3 bucket {stale} (arn:aws:s3:::{stale}) of store assets" in out
    left = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert stale not in left
    assert {untagged, f"prod-assets-{ID}"} <= left  # no harness tag: never touched
    for bucket in (untagged, f"prod-assets-{ID}"):
        s3.delete_bucket(Bucket=bucket)


@pytest.fixture
def untagged_table(aws: MotoServer) -> Iterator[tuple[str, str]]:
    """A table AWS Backup restored for a run killed before the job completed: named by the harness, no tag yet
    (verifiers/stores/dynamodb/backup_restore.py). (name, ARN); deleted after if the test did not."""
    dynamodb = boto3.client("dynamodb")
    name = f"restoreproof-orders-{secrets.token_hex(4)}"
    arn = dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])["TableDescription"]["TableArn"]
    time.sleep(1.1)  # older than --older-than 1s
    yield name, arn
    with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
        dynamodb.delete_table(TableName=name)


def restore_jobs(backup: Backup, *jobs: dict[str, object]) -> None:
    """ListRestoreJobs (moto 5 has no restore jobs: stubbed, its parameters asserted)."""
    backup.stub.add_response("list_restore_jobs", {"RestoreJobs": list(jobs)}, {"ByResourceType": "DynamoDB"})


def tables() -> set[str]:
    return set(boto3.client("dynamodb").list_tables()["TableNames"])


def test_an_untagged_table_an_aws_backup_job_of_the_harness_restored_is_found_and_deleted(
        aws: MotoServer, backup: Backup, untagged_table: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    name, arn = untagged_table
    restore_jobs(backup, {"RestoreJobId": "job-6", "CreatedResourceArn": arn + "-other", "ResourceType": "DynamoDB"},
                 {"RestoreJobId": "job-7", "CreatedResourceArn": arn, "ResourceType": "DynamoDB"})
    assert main(["janitor", "--older-than", "1s"]) == 0
    assert f"would delete: dynamodb table {name} ({arn}) of store orders, created " in capsys.readouterr().out
    assert name in tables()
    restore_jobs(backup, {"RestoreJobId": "job-7", "CreatedResourceArn": arn, "ResourceType": "DynamoDB"})
    assert main(["janitor", "--older-than", "1s", "--delete"]) == 0
    out = capsys.readouterr().out
    assert f"deleted: dynamodb table {name} ({arn}) of store orders" in out
    assert "; untagged: restored by AWS Backup job job-7" in out
    assert name not in tables()


@pytest.mark.parametrize("jobs", [
    pytest.param([], id="no job restored it"),
    pytest.param([{"RestoreJobId": "job-rt", "ResourceType": "DynamoDB", "CreatedBy": {
        "RestoreTestingPlanArn": "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:nightly-abc"}}],
        id="a restore testing plan's job restored it")])
def test_an_untagged_table_no_harness_job_confirms_is_named_and_kept(
        aws: MotoServer, backup: Backup, untagged_table: tuple[str, str], jobs: list[dict[str, object]],
        capsys: pytest.CaptureFixture[str]) -> None:
    name, arn = untagged_table
    restore_jobs(backup, *[{**job, "CreatedResourceArn": arn} for job in jobs])
    assert main(["janitor", "--older-than", "1s", "--delete"]) == 0
    out = capsys.readouterr().out
    assert f"not confirmed, not deleted: dynamodb table {name} ({arn}) has no restoreproof:sandbox tag and " in out
    assert ("was restored by restore testing plan" if jobs else "no AWS Backup restore job created it") in out
    assert f"\ndeleted: dynamodb table {name}" not in f"\n{out}"
    assert name in tables()


def test_without_permission_to_list_restore_jobs_the_untagged_table_is_named_and_kept(
        aws: MotoServer, backup: Backup, untagged_table: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    name, _ = untagged_table
    backup.stub.add_client_error("list_restore_jobs", "AccessDeniedException", "not authorized",
                                 expected_params={"ByResourceType": "DynamoDB"})
    assert main(["janitor", "--older-than", "1s", "--delete"]) == 2
    err = capsys.readouterr().err
    assert f"janitor could not delete dynamodb table(s) {name} without the restoreproof:sandbox tag" in err
    assert "backup:ListRestoreJobs" in err
    assert name in tables()
