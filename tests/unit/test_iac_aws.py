"""`restoreproof init --iac aws`: the CloudFormation template of the runner's network path and the OIDC role
(infra/restoreproof/aws-restoreproof.yml), linted with cfn-lint (offline: its specs ship in its wheel), and its
IAM policy checked against the code: every RDS API the harness calls (found in verifiers/ by name) is allowed,
nothing else is, and the tag conditions name the tags the harness really sets."""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore import xform_name

from verifiers import __version__
from verifiers.aws import CREATED_TAG, SANDBOX_TAG, STORE_TAG, sandbox_identifier
from verifiers.cli import main
from verifiers.sandboxes.aws_rds_adopted import RESTORE_TESTING_TAG

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "infra/restoreproof/aws-restoreproof.yml"
# Point-in-time restores (another branch of issue 23 calls them): allowed under the same tag conditions.
PITR_ACTIONS = {"rds:RestoreDBInstanceToPointInTime", "rds:RestoreDBClusterToPointInTime"}
# The actions that create an instance or cluster (the harness's sandbox).
CREATE_ACTIONS = {"rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance",
                  *PITR_ACTIONS}
BIN = Path(sys.executable).parent
RDS_ARN = "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("repo")
    assert main(["init", "--dir", str(folder), "--iac", "aws"]) == 0
    return folder / TEMPLATE


def template(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())  # long-form intrinsics only ({"Ref": …}), so plain YAML reads it
    assert isinstance(data, dict)
    return data


def statements(path: Path, *, restore_testing: bool = False) -> dict[str, dict[str, Any]]:
    """The role's statements by Sid, as deployed with EnableRestoreTesting (its Fn::If resolved)."""
    [policy] = template(path)["Resources"]["RestoreRole"]["Properties"]["Policies"]
    found = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            condition, yes, no = statement["Fn::If"]
            assert condition == "RestoreTesting", condition
            statement = yes if restore_testing else no
            if statement == {"Ref": "AWS::NoValue"}:
                continue
        found[statement["Sid"]] = statement
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=300,
                          check=False)


def test_init_writes_the_template_once_and_never_overwrites_it(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--dir", str(tmp_path), "--iac", "aws"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / TEMPLATE}" in out
    assert "Deploy infra/restoreproof/aws-restoreproof.yml" in out
    assert f"restoreproof {__version__}" in (tmp_path / TEMPLATE).read_text()
    (tmp_path / TEMPLATE).write_text("# edited by the team\n")
    assert main(["init", "--dir", str(tmp_path), "--iac", "aws"]) == 0
    assert f"skipped {tmp_path / TEMPLATE} (exists)" in capsys.readouterr().out
    assert (tmp_path / TEMPLATE).read_text() == "# edited by the team\n"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["init", "--dir", str(plain)]) == 0
    assert not (plain / "infra").exists()  # only with --iac


def test_cfn_lint_passes_and_would_catch_a_broken_template(written: Path, tmp_path: Path) -> None:
    linted = cfn_lint(written)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(written.read_text().replace("Type: AWS::RDS::DBSubnetGroup", "Type: AWS::RDS::DBSubnetGrup"))
    assert cfn_lint(broken).returncode != 0


@cache
def rds_operations() -> dict[str, str]:
    """RDS client method name -> API operation, from botocore's service model."""
    model = botocore.session.get_session().get_service_model("rds")
    return {xform_name(op): op for op in model.operation_names}


@cache
def rds_waiter_operations() -> dict[str, str]:
    session = botocore.session.get_session()
    config = session.get_waiter_model("rds")
    return {xform_name(name): config.get_waiter(name).operation for name in config.waiter_names}


def python_sources() -> Iterator[Path]:
    yield from (ROOT / "verifiers").rglob("*.py")


def called_rds_actions() -> set[str]:
    """Every RDS API the harness's code names: client method calls, paginator and waiter names, and operation
    names in waiter models it defines itself."""
    operations, waiters = rds_operations(), rds_waiter_operations()
    found: set[str] = set()
    for path in python_sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in operations:
                found.add(operations[node.attr])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in operations:
                    found.add(operations[node.value])
                elif node.value in waiters:
                    found.add(waiters[node.value])
                elif node.value in operations.values():
                    found.add(node.value)
    return {f"rds:{op}" for op in found}


def allowed(action: str, granted: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in granted)


def test_every_rds_call_of_the_harness_is_allowed_and_nothing_more(written: Path) -> None:
    called = called_rds_actions()
    # the derivation found the calls (not an empty set that would pass anything)
    assert {"rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance",
            "rds:DeleteDBInstance", "rds:DeleteDBCluster", "rds:ModifyDBInstance", "rds:ModifyDBCluster",
            "rds:DescribeDBInstances", "rds:DescribeDBSubnetGroups"} <= called
    granted = [a for s in statements(written).values() for a in actions(s)]
    assert sorted(a for a in called if not allowed(a, granted)) == []
    writes = {a for a in granted if a.startswith("rds:") and not a.startswith("rds:Describe")
              and a != "rds:ListTagsForResource"}
    # tags are added by the restore requests themselves (Tags=...), which RDS authorises as AddTagsToResource
    assert writes - called - PITR_ACTIONS == {"rds:AddTagsToResource"}
    assert writes >= PITR_ACTIONS


# The other services whose reads inventory discovery (verifiers/discovery) and the hygiene and configuration
# evidence (verifiers/compliance) make; where IAM names the action otherwise than the API operation, by its name.
READ_SERVICES = ("dynamodb", "s3", "elasticache", "backup")
READ_FOLDERS = ("discovery", "compliance")
READ_PREFIXES = ("Describe", "List", "Get", "Head")
IAM_NAMES = {"s3:ListBuckets": "s3:ListAllMyBuckets", "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
             "s3:GetBucketReplication": "s3:GetReplicationConfiguration",
             "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
             "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock", "s3:HeadObject": "s3:GetObject",
             "s3:ListObjectsV2": "s3:ListBucket"}
# Reads of a backup's own objects (an S3 dump source's): granted on the backup buckets by whoever knows them,
# never on every bucket of the account, so not in the shipped role (the template says so).
OBJECT_READS = {"s3:GetObject", "s3:ListBucket"}


def called_read_actions() -> set[str]:
    """The read-only actions of READ_SERVICES the discovery and compliance code names: client method calls and
    paginator names, as IAM spells them."""
    session = botocore.session.get_session()
    found: set[str] = set()
    for service in READ_SERVICES:
        model = session.get_service_model(service)
        operations = {xform_name(op): op for op in model.operation_names if op.startswith(READ_PREFIXES)}
        for path in (p for folder in READ_FOLDERS for p in (ROOT / "verifiers" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                name = node.attr if isinstance(node, ast.Attribute) else node.value if isinstance(
                    node, ast.Constant) and isinstance(node.value, str) else None
                if name in operations:
                    action = f"{service}:{operations[name]}"
                    found.add(IAM_NAMES.get(action, action))
    return found


def test_every_discovery_and_hygiene_read_is_allowed_and_nothing_more(written: Path) -> None:
    called = called_read_actions()
    # the derivation found the calls (not an empty set that would pass anything)
    assert {"dynamodb:ListTables", "dynamodb:DescribeContinuousBackups", "s3:ListAllMyBuckets",
            "s3:GetEncryptionConfiguration", "elasticache:DescribeReplicationGroups", "backup:ListBackupJobs",
            "backup:GetBackupSelection", "s3:GetObject"} <= called
    policy = statements(written)
    granted = [a for s in policy.values() for a in actions(s)]
    assert sorted(a for a in called - OBJECT_READS if not allowed(a, granted)) == []
    assert not [a for a in OBJECT_READS if allowed(a, granted)]  # never on every bucket
    reads = actions(policy["DiscoveryAndHygieneReads"])
    assert set(reads) == called - OBJECT_READS  # nothing the code does not call
    assert all("*" not in a and a.split(":")[1].startswith(("Describe", "List", "Get")) for a in reads)
    assert policy["DiscoveryAndHygieneReads"]["Effect"] == "Allow" and "Condition" not in policy[
        "DiscoveryAndHygieneReads"]
    # RDS's reads (discovery's DescribeDBInstances/DescribeDBClusters, hygiene's automated backups) are rds:Describe*
    assert {"rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBInstanceAutomatedBackups"} <= {
        a for a in called_rds_actions() if allowed(a, granted)}


def test_ec2_reads_of_the_reachability_check_are_allowed(written: Path) -> None:
    source = (ROOT / "verifiers" / "sandboxes" / "aws_network.py").read_text()
    ec2 = botocore.session.get_session().get_service_model("ec2")
    used = {f"ec2:{op}" for op in ec2.operation_names if f"ec2.{xform_name(op)}(" in source}
    assert used == {"ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"}
    assert used <= set(actions(statements(written)["ReadOnly"]))


def test_restores_and_deletes_are_conditioned_on_the_harness_tag(written: Path) -> None:
    policy = statements(written)
    restore = policy["CreateOnlyHarnessNamedSandboxes"]
    assert set(actions(restore)) == CREATE_ACTIONS
    prefix = sandbox_identifier("saas").rsplit("-", 2)[0] + "-*"  # restoreproof-*: every name the harness makes
    assert restore["Condition"]["StringLike"] == {f"aws:RequestTag/{SANDBOX_TAG}": prefix}
    assert restore["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [SANDBOX_TAG, CREATED_TAG,
                                                                                 STORE_TAG]}
    for sid, statement in policy.items():
        if set(actions(statement)) & CREATE_ACTIONS:
            assert statement["Condition"] == restore["Condition"], sid
    tagging = policy["TagOnlyWhileCreatingSandboxes"]
    assert actions(tagging) == ["rds:AddTagsToResource"]
    assert tagging["Condition"] == restore["Condition"]
    change = policy["ModifyAndDeleteOnlyTaggedSandboxes"]
    assert set(actions(change)) == {"rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance",
                                    "rds:DeleteDBCluster"}
    assert change["Condition"] == {"StringLike": {f"aws:ResourceTag/{SANDBOX_TAG}": prefix}}
    for sid in ("TagOnlyWhileCreatingSandboxes", "ModifyAndDeleteOnlyTaggedSandboxes"):
        resources = [r["Fn::Sub"] for r in policy[sid]["Resource"]]
        assert all(r.endswith((f":db:{prefix}", f":cluster:{prefix}")) for r in resources), resources
    read = policy["ReadOnly"]
    assert all(a.split(":")[1].startswith(("Describe", "List")) for a in actions(read))


def github_environments() -> set[str]:
    """The GitHub environments of the shipped workflows' jobs that assume the role (id-token: write)."""
    found: set[str] = set()
    for path in (ROOT / "verifiers" / "templates" / "init" / "github").glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            if job.get("permissions", {}).get("id-token") == "write":
                found.add(job.get("environment", "(none)"))
    return found


def test_the_role_is_assumed_only_by_one_environments_oidc_tokens(written: Path) -> None:
    """Not any workflow of the repository (`repo:OWNER/REPO:*`): the role reads production data."""
    data = template(written)
    resources = data["Resources"]
    [trust] = resources["RestoreRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": {
            "Fn::Sub": "repo:${GitHubRepository}:environment:${GitHubEnvironment}"}}}
    # the default is the environment every job of the shipped workflows that asks for an OIDC token runs in
    assert github_environments() == {data["Parameters"]["GitHubEnvironment"]["Default"]}
    assert resources["GitHubOidcProvider"]["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert not [name for name, r in resources.items() if r["Type"] in ("AWS::IAM::AccessKey", "AWS::IAM::User")]


def test_the_sandbox_group_accepts_the_database_port_from_the_runner_group_only(written: Path) -> None:
    resources = template(written)["Resources"]
    [ingress] = resources["SandboxSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "RunnerSecurityGroup"}
    assert ingress["FromPort"] == ingress["ToPort"] == {"Ref": "DatabasePort"}
    assert "CidrIp" not in ingress
    assert resources["SandboxSubnetGroup"]["Properties"]["SubnetIds"] == {"Ref": "SubnetIds"}


@cache
def rds_resource_types() -> dict[str, set[str]]:
    """Action -> the RDS resource types it authorizes, from the service authorization reference as cfn-lint ships
    it (data/AdditionalSpecs/Policies.json; it does not say which are required)."""
    data = json.loads(files("cfnlint").joinpath("data", "AdditionalSpecs", "Policies.json").read_text())
    return {f"rds:{name}": set(action.get("Resources", ())) for name, action in data["rds"]["Actions"].items()}


def granted_resources(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """(resource type, name pattern) of each RDS ARN the statement names."""
    found = []
    for resource in statement["Resource"]:
        arn = resource["Fn::Sub"] if isinstance(resource, dict) else resource
        assert arn.startswith(RDS_ARN), arn
        rest = arn.removeprefix(RDS_ARN)
        kind, _, name = rest.partition(":")
        found.append((kind, name))
    return found


def test_creates_name_only_the_harnesss_own_instances_and_clusters(written: Path) -> None:
    """CreateDBInstance on `cluster:*` would let the role add an instance to a production Aurora cluster
    (DBClusterIdentifier=prod): the new db / cluster resource is the harness's restoreproof-* only. The only
    exception is the source of a point-in-time restore, granted to the point-in-time actions alone."""
    prefix = sandbox_identifier("saas").rsplit("-", 2)[0] + "-*"
    types = rds_resource_types()
    reach: dict[str, set[str]] = {action: set() for action in CREATE_ACTIONS}
    for sid, statement in statements(written).items():
        granted = set(actions(statement)) & CREATE_ACTIONS
        if not granted:
            continue
        for kind, name in granted_resources(statement):
            assert any(kind in types[a.lower()] for a in granted), (sid, kind)  # authorizes something
            for action in granted:
                if kind in types[action.lower()]:
                    reach[action].add(kind)
            if kind in ("db", "cluster") and name != prefix:
                assert granted <= PITR_ACTIONS, (sid, kind, name, granted)
    # every resource type each action authorizes is granted (else RDS refuses it), but a retained automated
    # backup's ARN, which the harness never restores from
    for action, kinds in reach.items():
        assert kinds == types[action.lower()] - {"auto-backup", "cluster-auto-backup"}, action
    create = [s for s in statements(written).values() if "rds:CreateDBInstance" in actions(s)]
    clusters = {name for s in create for kind, name in granted_resources(s) if kind == "cluster"}
    assert clusters == {prefix}  # its own temporary Aurora cluster, and that one is granted


def test_the_resource_type_reference_is_read() -> None:
    """Guards the test above against an empty reference (which would pass anything)."""
    assert rds_resource_types()["rds:createdbinstance"] >= {"cluster", "db", "subgrp"}


def test_restore_testing_copies_are_modifiable_only_when_enabled_and_only_by_their_tag(written: Path) -> None:
    """An instance AWS Backup restore testing restored is neither restoreproof-* nor tagged restoreproof:sandbox:
    resetting its password needs ModifyDBInstance / ModifyDBCluster on it, granted only with EnableRestoreTesting
    and only on resources carrying AWS Backup's restore-testing tag."""
    data = template(written)
    assert data["Parameters"]["EnableRestoreTesting"]["Default"] == "false"
    assert data["Conditions"]["RestoreTesting"] == {"Fn::Equals": [{"Ref": "EnableRestoreTesting"}, "true"]}
    sid = "ResetCredentialsOfRestoreTestingCopies"
    assert sid not in statements(written)
    enabled = statements(written, restore_testing=True)
    assert set(enabled) - set(statements(written)) == {sid}
    reset = enabled[sid]
    assert set(actions(reset)) == {"rds:ModifyDBInstance", "rds:ModifyDBCluster"}
    assert reset["Condition"] == {"Null": {f"aws:ResourceTag/{RESTORE_TESTING_TAG}": "false"}}
    assert sorted(granted_resources(reset)) == [("cluster", "*"), ("db", "*")]
    linted = cfn_lint(written)  # the Fn::If form is valid CloudFormation
    assert linted.returncode == 0, linted.stdout + linted.stderr
