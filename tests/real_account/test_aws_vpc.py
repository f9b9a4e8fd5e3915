"""In-VPC execution and credentials against a real AWS account (issue 23, items 1 and 2): what moto cannot prove
— that this runner really reaches a temporary instance restored from a real snapshot, that RDS applies the reset
password and the harness logs in with it, that IAM database authentication works, and that a security group
without the rule fails in seconds with nothing restored. Billed: each test restores a real instance (the failing
one restores none) and deletes it.

Run on a runner inside the VPC, with AWS credentials for the role of infra/restoreproof/aws-restoreproof.yml:

    RESTOREPROOF_REAL_ACCOUNT=aws make test-real-account

Environment (each test fails naming the one it misses):
  RESTOREPROOF_AWS_RDS_INSTANCE   a PostgreSQL RDS instance with at least one available snapshot
  RESTOREPROOF_AWS_MANIFEST       the manifest captured with that snapshot (path or s3:// URL)
  RESTOREPROOF_AWS_SUBNET_GROUP   the DB subnet group for the temporary instance (the stack's SandboxSubnetGroupName)
  RESTOREPROOF_AWS_SANDBOX_SG     its security group (the stack's SandboxSecurityGroupId)
  RESTOREPROOF_AWS_RUNNER_SG      this runner's security group (the stack's RunnerSecurityGroupId)
  RESTOREPROOF_AWS_IAM_USER       for the IAM test: a database user granted rds_iam in that instance's database
AWS_REGION / AWS_PROFILE as the AWS config chain reads them. The last test also creates (and deletes) a security
group without rules: beyond the stack's role, it needs ec2:CreateSecurityGroup and ec2:DeleteSecurityGroup.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import real_accounts
from tests.real_account.support import required_env as env
from verifiers.aws import SANDBOX_TAG, tag_dict
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store

__test__ = "aws" in real_accounts()  # RESTOREPROOF_REAL_ACCOUNT=gcp alone collects none of these
pytestmark = pytest.mark.real_account


def verify(tmp_path: Path, **source: Any) -> StoreOutcome:
    src = {"type": "rds-snapshot", "instance": env("RESTOREPROOF_AWS_RDS_INSTANCE"),
           "manifest": env("RESTOREPROOF_AWS_MANIFEST"), "instance_class": "db.t4g.medium",
           "subnet_group": env("RESTOREPROOF_AWS_SUBNET_GROUP"),
           "security_groups": [env("RESTOREPROOF_AWS_SANDBOX_SG")],
           "runner_security_group": env("RESTOREPROOF_AWS_RUNNER_SG"), **source}
    store = {"name": "real-vpc", "kind": "postgres", "rto": "4h", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def left_behind() -> list[str]:
    rds = boto3.client("rds")
    return [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]
            if tag_dict(i.get("TagList")).get("restoreproof:store") == "real-vpc"
            and SANDBOX_TAG in tag_dict(i.get("TagList")) and i.get("DBInstanceStatus") != "deleting"]


def test_a_reset_password_restore_is_reached_from_this_runner_and_verified(tmp_path: Path) -> None:
    outcome = verify(tmp_path, credentials="reset")
    assert outcome.status == "passed", outcome.error or [c for c in outcome.checks if not c.passed]
    sandbox = outcome.as_evidence()["sandbox"]
    assert sandbox["reachability_rules"].startswith("passed: ")
    assert sandbox["reachability_probe"].startswith("passed: TCP connect to ")
    assert sandbox["credentials"] == "reset"
    assert left_behind() == []


def test_iam_database_authentication_logs_in(tmp_path: Path) -> None:
    outcome = verify(tmp_path, credentials="iam", iam_user=env("RESTOREPROOF_AWS_IAM_USER"))
    assert outcome.status == "passed", outcome.error or [c for c in outcome.checks if not c.passed]
    assert outcome.as_evidence()["sandbox"]["credentials"] == "iam"
    assert left_behind() == []


def test_a_group_without_the_rule_fails_in_seconds_and_restores_nothing(tmp_path: Path) -> None:
    ec2 = boto3.client("ec2")
    subnet_group = boto3.client("rds").describe_db_subnet_groups(
        DBSubnetGroupName=env("RESTOREPROOF_AWS_SUBNET_GROUP"))["DBSubnetGroups"][0]
    group = ec2.create_security_group(GroupName=f"restoreproof-no-rule-{int(time.time())}",
                                      Description="restoreproof real-account test: no inbound rule",
                                      VpcId=subnet_group["VpcId"])["GroupId"]
    try:
        started = time.monotonic()
        outcome = verify(tmp_path, security_groups=[group])
        assert time.monotonic() - started < 120
        assert outcome.error is not None and outcome.error["phase"] == "provision"
        assert f"security group(s) {group}" in outcome.error["message"]
        assert "no inbound rule accepts TCP" in outcome.error["message"]
        assert left_behind() == []
    finally:
        ec2.delete_security_group(GroupId=group)
