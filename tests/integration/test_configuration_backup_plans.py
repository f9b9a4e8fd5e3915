"""Backup configuration evidence: the copies AWS Backup plans make of a store's resource (issue 25, the gap of item
4). The plans and their rules' copy actions are moto's server over HTTP (CreateBackupPlan, ListBackupPlans,
GetBackupPlan); moto serves no backup selections, so ListBackupSelections and GetBackupSelection are botocore's
Stubber, asserting each call's exact parameters, on a second client beside the served one. The resources (an RDS
instance, a DynamoDB table, an S3 bucket) and their tags are moto's. A denied call is moto's own error reply (the
backend method replaced in its in-process server) or the Stubber's, and makes only `copy_to` unknown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.backup.models import BackupBackend
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend

from tests.aws_support import MotoServer
from verifiers.checks import CheckResult
from verifiers.compliance import configuration_aws, configuration_facts
from verifiers.compliance.backup_plans import assigns
from verifiers.compliance.configuration_facts import Recorded
from verifiers.inventory import parse_inventory

ACCOUNT = "123456789012"
DR_REGION = f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr"
DR_ACCOUNT = "arn:aws:backup:us-east-1:222222222222:backup-vault:vault-b"
SAME_PLACE = f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:local"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"


class PlansServedSelectionsStubbed:
    """AWS Backup's client: plans from moto's server, selections from a stubbed client (moto has none)."""

    def __init__(self, served: Any, stubbed: Any) -> None:
        self.served, self.stubbed = served, stubbed

    def get_paginator(self, operation: str) -> Any:
        return (self.stubbed if "selection" in operation else self.served).get_paginator(operation)

    def get_backup_plan(self, **query: Any) -> Any:
        return self.served.get_backup_plan(**query)

    def get_backup_selection(self, **query: Any) -> Any:
        return self.stubbed.get_backup_selection(**query)


@pytest.fixture
def backup(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    served, stubbed = boto3.client("backup"), boto3.client("backup")
    stub = Stubber(stubbed)
    monkeypatch.setattr(configuration_aws, "backup_client",
                        lambda region, endpoint: PlansServedSelectionsStubbed(served, stubbed))
    with stub:
        yield served, stub
        stub.assert_no_pending_responses()
    for plan in served.list_backup_plans()["BackupPlansList"]:  # the session's other stores must see none
        served.delete_backup_plan(BackupPlanId=plan["BackupPlanId"])


def plan(client: Any, name: str, *rules: tuple[str, list[str]]) -> str:
    """A plan whose rules (name, copy destinations) copy to those vaults; its id."""
    return str(client.create_backup_plan(BackupPlan={"BackupPlanName": name, "Rules": [
        {"RuleName": rule, "TargetBackupVaultName": "local", "ScheduleExpression": "cron(0 5 ? * * *)",
         "CopyActions": [{"DestinationBackupVaultArn": d, "Lifecycle": {"DeleteAfterDays": 35}} for d in copies]}
        for rule, copies in rules]})["BackupPlanId"])


def selected(stub: Stubber, plan_id: str, **selection: Any) -> None:
    """The plan's one selection, as ListBackupSelections and GetBackupSelection report it."""
    stub.add_response("list_backup_selections", {"BackupSelectionsList": [
        {"SelectionId": f"sel-{plan_id[:8]}", "SelectionName": "s", "BackupPlanId": plan_id, "IamRoleArn": ROLE}]},
        {"BackupPlanId": plan_id})
    stub.add_response("get_backup_selection", {"BackupSelection": {"SelectionName": "s", "IamRoleArn": ROLE,
                                                                   **selection},
                                               "SelectionId": f"sel-{plan_id[:8]}", "BackupPlanId": plan_id},
                      {"BackupPlanId": plan_id, "SelectionId": f"sel-{plan_id[:8]}"})


def recorded(tmp_path: Path, source: dict[str, Any], kind: str) -> tuple[Recorded, dict[str, CheckResult]]:
    store: dict[str, Any] = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", "source": source}
    inventory = parse_inventory({"stores": [store], "policy": {"copy": True}}, tmp_path / "inventory.toml")
    found = configuration_facts.record(inventory.stores[0], inventory.policy, tmp_path, datetime.now(UTC), None)
    return found, {r.subject: r for r in found.checks}


@pytest.fixture
def table(aws: MotoServer) -> Iterator[str]:
    ddb = boto3.client("dynamodb")
    arn = ddb.create_table(TableName="bp-orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST",
                           Tags=[{"Key": "backup", "Value": "gold"}, {"Key": "env", "Value": "prod-eu"}],
                           )["TableDescription"]["TableArn"]
    yield str(arn)
    ddb.delete_table(TableName="bp-orders")


DYNAMODB = {"type": "dynamodb-backup", "table": "bp-orders", "manifest": "m.json"}


def test_a_plan_selecting_the_table_by_tag_copies_it_to_another_region(
        tmp_path: Path, backup: tuple[Any, Stubber], table: str) -> None:
    served, stub = backup
    gold = plan(served, "bp-gold", ("daily", [DR_REGION, SAME_PLACE]), ("monthly", []))
    other = plan(served, "bp-other", ("daily", [DR_ACCOUNT]))
    selected(stub, gold, Conditions={"StringEquals": [{"ConditionKey": "aws:ResourceTag/backup",
                                                       "ConditionValue": "gold"}],
                                     "StringLike": [{"ConditionKey": "aws:ResourceTag/env",
                                                     "ConditionValue": "prod*"}]})
    selected(stub, other, Resources=["arn:aws:dynamodb:*:*:table/other-*"])  # not this table
    found, checks = recorded(tmp_path, DYNAMODB, "dynamodb")
    assert found.block is not None
    assert found.block["facts"]["copy_to"] == [
        f"AWS Backup plan bp-gold rule daily copies to {DR_REGION} (region us-west-2, account {ACCOUNT})"]
    assert "copy_to" not in found.block["unknown"]
    assert checks["copy"].passed and checks["copy"].observed == {"copies": [{"region": "us-west-2",
                                                                             "account": ACCOUNT}]}


def test_no_plan_assigning_the_table_is_no_copy(tmp_path: Path, backup: tuple[Any, Stubber], table: str) -> None:
    served, stub = backup
    gold = plan(served, "bp-silver", ("daily", [DR_REGION]))
    selected(stub, gold, ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                      "ConditionValue": "silver"}], NotResources=[table])
    found, checks = recorded(tmp_path, DYNAMODB, "dynamodb")
    assert found.block is not None and found.block["facts"]["copy_to"] == []
    assert not checks["copy"].passed
    assert "no copy in another region or account is configured" in checks["copy"].message


def test_an_rds_instance_in_a_wildcard_selection_is_copied_to_another_account(
        tmp_path: Path, backup: tuple[Any, Stubber]) -> None:
    served, stub = backup
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="bp-app", Engine="postgres", DBInstanceClass="db.t4g.small",
                           MasterUsername="app", MasterUserPassword="not-a-real-password-1", AllocatedStorage=20,
                           BackupRetentionPeriod=7)
    try:
        vault = plan(served, "bp-vault", ("weekly", [DR_ACCOUNT]))
        selected(stub, vault, Resources=["arn:aws:rds:*:*:db:bp-*"])
        found, checks = recorded(tmp_path, {"type": "rds-snapshot", "instance": "bp-app"}, "postgres")
    finally:
        rds.delete_db_instance(DBInstanceIdentifier="bp-app", SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    assert found.block is not None and found.block["facts"]["copy_to"] == [
        f"AWS Backup plan bp-vault rule weekly copies to {DR_ACCOUNT} (region us-east-1, account 222222222222)"]
    assert checks["copy"].passed


def test_an_s3_bucket_selected_by_its_tags(tmp_path: Path, backup: tuple[Any, Stubber]) -> None:
    served, stub = backup
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bp-backups")
    s3.put_bucket_tagging(Bucket="bp-backups", Tagging={"TagSet": [{"Key": "backup", "Value": "gold"}]})
    try:
        gold = plan(served, "bp-s3", ("daily", [DR_REGION]))
        selected(stub, gold, ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                          "ConditionValue": "bronze"},
                                         {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                          "ConditionValue": "gold"}])
        found, checks = recorded(tmp_path, {"type": "s3", "bucket": "bp-backups", "prefix": "pg/"}, "postgres")
    finally:
        s3.delete_bucket_tagging(Bucket="bp-backups")
        s3.delete_bucket(Bucket="bp-backups")
    assert found.block is not None and found.block["facts"]["copy_to"] == [
        f"AWS Backup plan bp-s3 rule daily copies to {DR_REGION} (region us-west-2, account {ACCOUNT})"]
    assert checks["copy"].passed


def test_a_denied_plan_listing_makes_only_the_copy_unknown(tmp_path: Path, backup: tuple[Any, Stubber], table: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: BackupBackend, *args: Any, **kwargs: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to "
                            "perform: backup:ListBackupPlans")

    with monkeypatch.context() as patched:  # undone before the fixture lists the plans to delete them
        patched.setattr(BackupBackend, "list_backup_plans", denied)
        found, checks = recorded(tmp_path, DYNAMODB, "dynamodb")
    assert found.block is not None
    assert set(found.block["unknown"]) == {"copy_to"}
    assert "cannot list the AWS Backup plans" in found.block["unknown"]["copy_to"]
    assert "grant the harness's AWS identity backup:ListBackupPlans" in found.block["unknown"]["copy_to"]
    assert (checks["copy"].passed, checks["copy"].observed) == (False, {"copy_to": "unknown"})


def test_a_copy_by_replication_stays_known_when_the_plans_cannot_be_read(
        tmp_path: Path, backup: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: BackupBackend, *args: Any, **kwargs: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: backup:ListBackupPlans")

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bp-replicated")
    s3.create_bucket(Bucket="bp-dr", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_versioning(Bucket="bp-replicated", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket="bp-replicated", ReplicationConfiguration={
        "Role": f"arn:aws:iam::{ACCOUNT}:role/replication", "Rules": [
            {"ID": "dr", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
             "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": "arn:aws:s3:::bp-dr"}}]})
    try:
        with monkeypatch.context() as patched:
            patched.setattr(BackupBackend, "list_backup_plans", denied)
            found, checks = recorded(tmp_path, {"type": "s3", "bucket": "bp-replicated"}, "postgres")
    finally:
        s3.delete_bucket_replication(Bucket="bp-replicated")
        s3.delete_bucket(Bucket="bp-replicated")
        s3.delete_bucket(Bucket="bp-dr")
    assert found.block is not None
    assert found.block["facts"]["copy_to"] == ["replication to arn:aws:s3:::bp-dr (region us-west-2)"]
    assert "copy_to" not in found.block["unknown"] and checks["copy"].passed
    assert checks["copy"].observed == {"copies": [{"region": "us-west-2", "account": "same"}]}
    assert "not read: store app: cannot list the AWS Backup plans" in found.block["notes"]["copy_to"]


def test_a_denied_selection_names_its_permission(tmp_path: Path, backup: tuple[Any, Stubber], table: str) -> None:
    served, stub = backup
    gold = plan(served, "bp-denied", ("daily", [DR_REGION]))
    stub.add_client_error("list_backup_selections", service_error_code="AccessDeniedException",
                          http_status_code=403, expected_params={"BackupPlanId": gold})
    found, checks = recorded(tmp_path, DYNAMODB, "dynamodb")
    assert found.block is not None and set(found.block["unknown"]) == {"copy_to"}
    assert "grant the harness's AWS identity backup:ListBackupSelections" in found.block["unknown"]["copy_to"]
    assert not checks["copy"].passed


def test_denied_tags_name_their_permission(tmp_path: Path, backup: tuple[Any, Stubber], table: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: dynamodb:ListTagsOfResource")

    served, stub = backup
    gold = plan(served, "bp-tags", ("daily", [DR_REGION]))
    selected(stub, gold, ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                      "ConditionValue": "gold"}])
    monkeypatch.setattr(DynamoDBBackend, "list_tags_of_resource", denied)
    found, _ = recorded(tmp_path, DYNAMODB, "dynamodb")
    assert found.block is not None and set(found.block["unknown"]) == {"copy_to"}
    assert "cannot read the tags of table bp-orders" in found.block["unknown"]["copy_to"]
    assert "dynamodb:ListTagsOfResource" in found.block["unknown"]["copy_to"]


ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
TAGS = {"backup": "gold", "env": "prod-eu"}


@pytest.mark.parametrize(("selection", "chosen"), [
    ({}, True),  # nothing listed: every resource
    ({"Resources": ["*"]}, True),
    ({"Resources": [ARN]}, True),
    ({"Resources": ["arn:aws:dynamodb:*:*:table/ord*"]}, True),
    ({"Resources": ["arn:aws:dynamodb:*:*:table/other"]}, False),
    ({"Resources": ["*"], "NotResources": ["arn:aws:dynamodb:*:*:table/orders"]}, False),
    ({"Resources": ["arn:aws:rds:*"], "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                                       "ConditionValue": "gold"}]}, True),  # either list
    ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "aws:ResourceTag/backup",
                      "ConditionValue": "silver"}]}, False),
    ({"Resources": ["*"], "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/backup",
                                                            "ConditionValue": "gold"}],
                                         "StringNotLike": [{"ConditionKey": "aws:ResourceTag/env",
                                                            "ConditionValue": "prod*"}]}}, False),  # all conditions
    ({"Conditions": {"StringNotEquals": [{"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "x"}]}}, True),
])
def test_which_selections_assign_the_resource(selection: dict[str, Any], chosen: bool) -> None:
    assert assigns(selection, ARN, lambda: TAGS) is chosen
