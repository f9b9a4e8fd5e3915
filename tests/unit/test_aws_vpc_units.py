"""The rules judged by verifiers/sandboxes/aws_network.py and the API calls of aws_login.py, where moto cannot
play the part: a denied DescribeSecurityGroups (moto's server grants everything) and ModifyDBCluster's answer
are botocore Stubbers with the exact parameters asserted."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from verifiers.errors import SandboxError
from verifiers.redaction import redact_secrets
from verifiers.sandboxes.aws_login import credentials_mode, log_in
from verifiers.sandboxes.aws_network import NetworkSettings, check_rules, judge_rules
from verifiers.sandboxes.aws_rds import RdsSandbox, RdsSandboxSettings
from verifiers.sources.rds_snapshot import Snapshot


def settings(**changes: Any) -> NetworkSettings:
    values: dict[str, Any] = {"store": "saas", "port": 5432, "subnet_group": "private", "security_groups": ("sg-db",),
                              "runner_security_group": "sg-runner", "runner_cidr": None, "mode": "fail"}
    values.update(changes)
    return NetworkSettings(**values)


def rule(protocol: str = "tcp", low: int = 5432, high: int = 5432, **sources: Any) -> Any:
    return {"IpProtocol": protocol, "FromPort": low, "ToPort": high, **sources}


@pytest.mark.parametrize(("rules", "given", "verdict"), [
    ([rule(UserIdGroupPairs=[{"GroupId": "sg-runner"}])], {}, None),
    ([rule(low=5000, high=6000, UserIdGroupPairs=[{"GroupId": "sg-runner"}])], {}, None),
    ([rule("-1", -1, -1, UserIdGroupPairs=[{"GroupId": "sg-runner"}])], {}, None),  # all traffic
    ([rule(UserIdGroupPairs=[{"GroupId": "sg-other"}])], {}, "no inbound rule accepts TCP 5432 from sg-runner"),
    ([rule("udp", UserIdGroupPairs=[{"GroupId": "sg-runner"}])], {}, "no inbound rule accepts TCP 5432 at all"),
    ([rule(low=3306, high=3306, UserIdGroupPairs=[{"GroupId": "sg-runner"}])], {},
     "no inbound rule accepts TCP 5432 at all"),
    ([rule(IpRanges=[{"CidrIp": "10.0.0.0/16"}])], {"runner_security_group": None, "runner_cidr": "10.0.8.0/24"},
     None),
    ([rule(IpRanges=[{"CidrIp": "10.0.8.0/25"}])], {"runner_security_group": None, "runner_cidr": "10.0.8.0/24"},
     "no inbound rule accepts TCP 5432 from 10.0.8.0/24"),  # only half the runner's range
    ([rule(Ipv6Ranges=[{"CidrIpv6": "2001:db8::/32"}])],
     {"runner_security_group": None, "runner_cidr": "2001:db8:1::/48"}, None),
    ([rule(IpRanges=[{"CidrIp": "0.0.0.0/0"}])], {"runner_security_group": None, "runner_cidr": "2001:db8:1::/48"},
     "no inbound rule accepts TCP 5432 from 2001:db8:1::/48"),
    ([rule(IpRanges=[{"CidrIp": "10.1.0.0/16"}])], {"runner_security_group": None}, None),  # no runner: any source
])
def test_judge_rules(rules: list[Any], given: dict[str, Any], verdict: str | None) -> None:
    assert judge_rules(rules, settings(**given)) == verdict


def clients() -> tuple[Any, Any]:
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    return session.client("rds"), session.client("ec2")


def stub_placement(rds: Any, ec2: Any) -> tuple[Stubber, Stubber]:
    rds_stub, ec2_stub = Stubber(rds), Stubber(ec2)
    rds_stub.add_response("describe_db_subnet_groups", {"DBSubnetGroups": [{
        "DBSubnetGroupName": "private", "VpcId": "vpc-1",
        "Subnets": [{"SubnetIdentifier": "subnet-a"}, {"SubnetIdentifier": "subnet-b"}]}]},
        {"DBSubnetGroupName": "private"})
    ec2_stub.add_client_error("describe_security_groups", "UnauthorizedOperation",
                              "You are not authorized to perform this operation.",
                              expected_params={"GroupIds": ["sg-db"]})
    return rds_stub, ec2_stub


def test_a_denied_describe_security_groups_fails_naming_the_permission() -> None:
    rds, ec2 = clients()
    rds_stub, ec2_stub = stub_placement(rds, ec2)
    with rds_stub, ec2_stub, pytest.raises(SandboxError) as raised:
        check_rules(rds, ec2, settings())
    assert raised.value.message.startswith("store saas: cannot check that the runner reaches the temporary RDS "
                                           "instance: permission ec2:DescribeSecurityGroups is missing")
    assert "ec2:DescribeSecurityGroups" in (raised.value.hint or "")
    rds_stub.assert_no_pending_responses()
    ec2_stub.assert_no_pending_responses()


def test_warn_says_the_check_was_not_made(caplog: pytest.LogCaptureFixture) -> None:
    rds, ec2 = clients()
    rds_stub, ec2_stub = stub_placement(rds, ec2)
    with rds_stub, ec2_stub, caplog.at_level(logging.WARNING):
        report, placement = check_rules(rds, ec2, settings(mode="warn"))
    assert placement is None
    assert report.rules == "not made: UnauthorizedOperation: You are not authorized to perform this operation."
    assert "permission ec2:DescribeSecurityGroups is missing" in caplog.text


def test_off_calls_no_api() -> None:
    rds, ec2 = clients()
    with Stubber(rds), Stubber(ec2):  # any call would fail: no response queued
        report, _ = check_rules(rds, ec2, settings(mode="off"))
    assert report.details() == {"reachability_rules": 'not made: reachability = "off"',
                                "reachability_probe": 'not made: reachability = "off"'}


def test_credentials_default_follows_endpoint_override() -> None:
    assert credentials_mode(None, endpoint_override=False) == "reset"
    assert credentials_mode(None, endpoint_override=True) == "environment"
    assert credentials_mode("iam", endpoint_override=True) == "iam"


def cluster_sandbox(rds: Any) -> RdsSandbox:
    snapshot = Snapshot(id="prod-1", arn="arn:aws:rds:us-east-1:1:cluster-snapshot:prod-1", cluster=True,
                        source_id="prod", created="2026-01-01T00:00:00Z", snapshot_type="manual", status="available",
                        engine="aurora-postgresql", engine_version="16.2", encrypted=False, kms_key_id="",
                        allocated_gib=0, master_username="app", port=5432, region="us-east-1", endpoint_url="")
    settings = RdsSandboxSettings(store="saas", instance_class="db.r6g.large", subnet_group=None, security_groups=())
    return RdsSandbox(rds, snapshot, settings, instance_id="restoreproof-saas-1", cluster_id="restoreproof-saas-1",
                      tag="restoreproof-saas-1")


def test_an_aurora_reset_modifies_the_cluster_and_waits_until_the_password_is_applied() -> None:
    rds, _ = clients()
    stub = Stubber(rds)
    cluster = {"DBClusterIdentifier": "restoreproof-saas-1"}
    stub.add_response("modify_db_cluster", {"DBCluster": cluster}, {
        "DBClusterIdentifier": "restoreproof-saas-1", "ApplyImmediately": True, "MasterUserPassword": ANY})
    pending = {**cluster, "Status": "available", "PendingModifiedValues": {"MasterUserPassword": "****"}}
    stub.add_response("describe_db_clusters", {"DBClusters": [pending]}, cluster)  # not yet: still pending
    stub.add_response("describe_db_clusters", {"DBClusters": [{**cluster, "Status": "available"}]}, cluster)
    with stub:
        login = log_in(cluster_sandbox(rds), "reset", iam_user=None, timeout=2)
    stub.assert_no_pending_responses()
    password = login.secret() if login.secret else ""
    assert len(password) == 32 and login.user == "app"
    assert redact_secrets(f"password={password} and {password}") == "password=*** and ***"  # registered
    assert password not in repr(login) and password not in login.describe()


def test_a_refused_reset_names_the_instance_and_permission_never_the_password() -> None:
    rds, _ = clients()
    stub = Stubber(rds)
    stub.add_client_error("modify_db_cluster", "AccessDenied", "not authorized to perform rds:ModifyDBCluster")
    with stub, pytest.raises(SandboxError) as raised:
        log_in(cluster_sandbox(rds), "reset", iam_user=None, timeout=2)
    text = raised.value.describe()
    assert text.startswith("store saas: cannot set the credentials of the temporary RDS cluster restoreproof-saas-1: "
                           "AccessDenied")
    assert "rds:ModifyDBCluster (MasterUserPassword)" in text


def test_without_a_runner_the_passed_rule_check_says_what_it_did_not_judge() -> None:
    rds, ec2 = clients()
    rds_stub, ec2_stub = Stubber(rds), Stubber(ec2)
    rds_stub.add_response("describe_db_subnet_groups", {"DBSubnetGroups": [{
        "DBSubnetGroupName": "private", "VpcId": "vpc-1", "Subnets": [{"SubnetIdentifier": "subnet-a"}]}]},
        {"DBSubnetGroupName": "private"})
    ec2_stub.add_response("describe_security_groups", {"SecurityGroups": [{
        "GroupId": "sg-db", "IpPermissions": [rule(IpRanges=[{"CidrIp": "10.0.0.0/8"}])]}]}, {"GroupIds": ["sg-db"]})
    with rds_stub, ec2_stub:
        report, placement = check_rules(rds, ec2, settings(runner_security_group=None))
    assert placement is not None and placement.subnets == ("subnet-a",)
    assert report.rules == ("passed: subnet group private (subnet-a) in vpc-1, security group(s) sg-db, port 5432 "
                            "accept TCP 5432 from some source (no runner_security_group or runner_cidr given: the "
                            "TCP probe judges this runner)")
