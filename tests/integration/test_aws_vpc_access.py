"""Reaching and logging in to the temporary RDS instance (issue 23, items 1 and 2), against moto's server: the
security-group check before the restore (an SG without the rule fails in seconds and nothing is restored), the
TCP probe after it, the password reset and IAM authentication with the parameters RDS is sent, and the reset
password in no log, report or evidence. moto's endpoint is no real database: the probe is pointed at a closed
port on 127.0.0.1, and the data plane is the demo PostgreSQL through endpoint_override."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.rds.models import DBInstance, RDSBackend

from tests.aws_support import MotoServer, harness_leftovers
from tests.conftest import SOURCE_DB, Capture, failed
from verifiers.cli import main
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.stores.postgres.local_server import SUPERUSER, PostgresServer

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef

pytestmark = pytest.mark.usefixtures("aws")
BIN = Path(sys.executable).parent
PORT = 5432


@dataclass(frozen=True)
class Vpc:
    vpc: str
    subnets: tuple[str, ...]
    subnet_group: str
    db_group: str  # the temporary instance's security group
    runner_group: str  # the runner's


@pytest.fixture
def vpc(aws: MotoServer) -> Iterator[Vpc]:
    """A private VPC: two subnets in a DB subnet group, the instance's security group (no inbound rule yet) and
    the runner's."""
    ec2, rds = boto3.client("ec2"), boto3.client("rds")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")
                    ["Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b")))
    db_group = ec2.create_security_group(GroupName="vpc-test-db", Description="db", VpcId=vpc)["GroupId"]
    runner = ec2.create_security_group(GroupName="vpc-test-runner", Description="runner", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName="vpc-test-subnets", DBSubnetGroupDescription="t",
                               SubnetIds=list(subnets))
    yield Vpc(vpc, subnets, "vpc-test-subnets", db_group, runner)
    rds.delete_db_subnet_group(DBSubnetGroupName="vpc-test-subnets")
    for group in (db_group, runner):
        ec2.delete_security_group(GroupId=group)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


@pytest.fixture
def prod(aws: MotoServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A "production" PostgreSQL instance whose master user is the demo server's superuser (so the data plane
    accepts the harness as that user), with one manual snapshot."""
    rds = boto3.client("rds")
    name = "prod-" + request.node.name.replace("_", "-")[5:40].strip("-")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="16.3",
                           DBInstanceClass="db.m6g.large", MasterUsername=SUPERUSER,
                           MasterUserPassword="production-secret", AllocatedStorage=100)
    rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=f"{name}-manual")
    yield name
    rds.delete_db_snapshot(DBSnapshotIdentifier=f"{name}-manual")
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


@dataclass
class Calls:
    """What moto's RDS backend was asked to do (the parameters as the API received them)."""

    restores: list[dict[str, Any]]
    modifies: list[dict[str, Any]]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen = Calls([], [])
    restore, modify = RDSBackend.restore_db_instance_from_db_snapshot, RDSBackend.modify_db_instance

    def restore_spy(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        seen.restores.append(dict(overrides))
        return restore(self, from_snapshot_id, overrides)

    def modify_spy(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        seen.modifies.append(dict(db_kwargs))
        return modify(self, db_instance_identifier, db_kwargs)

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", restore_spy)
    monkeypatch.setattr(RDSBackend, "modify_db_instance", modify_spy)
    return seen


@pytest.fixture
def closed_endpoint(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> int:
    """The restored instance's endpoint is 127.0.0.1 on a port where nothing listens (moto's own endpoint is a
    name that resolves nowhere), as a route or network ACL that drops the traffic would leave it."""
    port = closed_port()
    monkeypatch.setattr(DBInstance, "address", property(lambda self: "127.0.0.1"))
    restore = RDSBackend.restore_db_instance_from_db_snapshot  # the `calls` spy

    def on_closed_port(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        database = restore(self, from_snapshot_id, overrides)
        database.port = port
        return database

    monkeypatch.setattr(RDSBackend, "restore_db_instance_from_db_snapshot", on_closed_port)
    return port


def allow(group: str, *, port: int = PORT, source_group: str | None = None, cidr: str | None = None) -> None:
    permission: IpPermissionTypeDef = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if source_group:
        permission["UserIdGroupPairs"] = [{"GroupId": source_group}]
    if cidr:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    boto3.client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])


def source(prod: str, capture: Capture, vpc: Vpc, **settings: object) -> dict[str, object]:
    return {"type": "rds-snapshot", "instance": prod, "include": "manual", "instance_class": "db.t4g.medium",
            "manifest": str(capture.manifest), "subnet_group": vpc.subnet_group, "security_groups": [vpc.db_group],
            **settings}


def verify(tmp_path: Path, src: dict[str, object]) -> StoreOutcome:
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once it is closed


def test_a_security_group_without_the_rule_fails_before_anything_is_restored(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, vpc: Vpc, calls: Calls) -> None:
    allow(vpc.db_group, port=3306, source_group=vpc.runner_group)  # the runner, but on another port
    allow(vpc.db_group, source_group=vpc.db_group)  # the port, but from the group itself
    outcome = verify(tmp_path, source(prod, demo_capture, vpc, runner_security_group=vpc.runner_group))
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "provision"
    message = outcome.error["message"]
    assert message.startswith("store saas: the runner cannot reach the temporary RDS instance: subnet group "
                              f"vpc-test-subnets ({vpc.subnets[0]}, {vpc.subnets[1]}) in {vpc.vpc}, security "
                              f"group(s) {vpc.db_group}, port {PORT}: no inbound rule accepts TCP {PORT} from "
                              f"{vpc.runner_group}"), message
    assert (f"aws ec2 authorize-security-group-ingress --group-id {vpc.db_group} --protocol tcp --port {PORT} "
            f"--source-group {vpc.runner_group}") in message
    assert calls.restores == []  # failed in seconds, not after a restore
    assert harness_leftovers(aws.url) == []
    assert "provision" in outcome.timer.seconds and outcome.timer.rto_seconds < 60


def test_a_runner_range_outside_the_rule_names_both(
        tmp_path: Path, prod: str, demo_capture: Capture, vpc: Vpc, calls: Calls) -> None:
    allow(vpc.db_group, cidr="10.30.1.0/24")
    outcome = verify(tmp_path, source(prod, demo_capture, vpc, runner_cidr="10.30.9.0/24"))
    assert outcome.error is not None
    assert f"no inbound rule accepts TCP {PORT} from 10.30.9.0/24" in outcome.error["message"]
    assert "--cidr 10.30.9.0/24" in outcome.error["message"]
    assert calls.restores == []


def test_no_security_group_given_checks_the_vpc_default_group(
        tmp_path: Path, prod: str, demo_capture: Capture, vpc: Vpc, calls: Calls) -> None:
    src = source(prod, demo_capture, vpc, runner_cidr="10.30.9.0/24")
    del src["security_groups"]
    outcome = verify(tmp_path, src)
    assert outcome.error is not None
    [default] = boto3.client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc.vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert f"security group(s) {default['GroupId']}, port {PORT}" in outcome.error["message"]
    assert calls.restores == []


def test_an_unreachable_endpoint_fails_the_probe_naming_subnets_group_and_port(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, vpc: Vpc, calls: Calls,
        closed_endpoint: int) -> None:
    """The rules allow the runner, but nothing answers at the endpoint: the TCP probe fails within its timeout,
    before any login, and the instance is deleted."""
    allow(vpc.db_group, source_group=vpc.runner_group)
    port = closed_endpoint
    outcome = verify(tmp_path, source(prod, demo_capture, vpc, runner_security_group=vpc.runner_group))
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    message = outcome.error["message"]
    assert message.startswith(f"store saas: the runner cannot reach the temporary RDS instance at 127.0.0.1:{port} "
                              "within 5s"), message
    assert (f"subnet group vpc-test-subnets ({vpc.subnets[0]}, {vpc.subnets[1]}) in {vpc.vpc}, security group(s) "
            f"{vpc.db_group}, port {port}") in message
    assert calls.modifies == []  # no credentials were set on an instance nobody can reach
    assert outcome.as_evidence()["sandbox"]["reachability_rules"].startswith("passed: ")
    assert harness_leftovers(aws.url) == []


def test_warn_restores_anyway_and_says_so(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, vpc: Vpc, calls: Calls,
        closed_endpoint: int, caplog: pytest.LogCaptureFixture) -> None:
    port = closed_endpoint
    with caplog.at_level(logging.WARNING):
        outcome = verify(tmp_path, source(prod, demo_capture, vpc, runner_security_group=vpc.runner_group,
                                          reachability="warn"))
    assert f"port {PORT}: no inbound rule accepts TCP {PORT} at all (reachability = \"warn\": restoring anyway; " \
        f"add an inbound rule to {vpc.db_group}" in caplog.text
    assert len(calls.restores) == 1  # restored despite the warning
    sandbox = outcome.as_evidence()["sandbox"]
    assert sandbox["reachability_rules"].startswith(f"warned: no inbound rule accepts TCP {PORT} at all")
    assert sandbox["reachability_probe"] == f"warned: 127.0.0.1:{port} not reachable (Connection refused)"
    assert outcome.error is not None and "cannot connect to the restored RDS instance" in outcome.error["message"]
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_reset_password_reaches_the_login_and_no_log_report_or_evidence(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, source_server: PostgresServer,
        vpc: Vpc, calls: Calls) -> None:
    """The whole CLI run, DEBUG logging on (botocore logs request bodies at DEBUG): the password RDS was sent
    appears in none of stdout, stderr, report.html, junit.xml or evidence.json."""
    src = source(prod, demo_capture, vpc, credentials="reset", endpoint_override=source_server.conninfo(SOURCE_DB))
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    (tmp_path / "inventory.toml").write_text(_toml(store))
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml", "--reports-dir",
                             "reports", "--", "--log-level=DEBUG", "-o", "log_cli=true", "--log-cli-level=DEBUG"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [modify] = calls.modifies
    password = modify["master_user_password"]
    assert len(password) == 32 and password != "production-secret"
    assert modify["apply_immediately"] is True
    (evidence,) = (tmp_path / "reports").glob("*/*/evidence.json")
    [record] = json.loads(evidence.read_text())["stores"]
    assert record["status"] == "passed", record
    assert record["sandbox"]["credentials"] == "reset"
    assert record["sandbox"]["reachability_rules"].startswith("not made: the harness connects through "
                                                              "endpoint_override")
    places = {"stdout": result.stdout, "stderr": result.stderr}
    places.update({str(p): p.read_text(errors="replace") for p in (tmp_path / "reports").rglob("*") if p.is_file()})
    assert "ModifyDBInstance" in result.stdout + result.stderr  # the DEBUG log did show the call...
    assert [where for where, text in places.items() if password in text] == []  # ...never the password
    assert harness_leftovers(aws.url) == []


def _toml(store: dict[str, Any]) -> str:
    """One store as TOML: its scalars, then its source table (strings and lists of strings, JSON-quoted)."""
    lines = ["[[stores]]", *(f"{k} = {json.dumps(v)}" for k, v in store.items() if not isinstance(v, dict)),
             "[stores.source]", *(f"{k} = {json.dumps(v)}" for k, v in store["source"].items())]
    return "\n".join(lines) + "\n"


@pytest.mark.postgres
def test_iam_authentication_is_enabled_and_a_token_is_the_password(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, source_server: PostgresServer,
        vpc: Vpc, calls: Calls, monkeypatch: pytest.MonkeyPatch) -> None:
    conninfos: list[str] = []
    from verifiers.stores.postgres import snapshot

    original = snapshot.probe_connection

    def spy(conninfo: str, store: str, hint: str = "") -> None:
        conninfos.append(conninfo)
        original(conninfo, store, hint)

    monkeypatch.setattr(snapshot, "probe_connection", spy)
    outcome = verify(tmp_path, source(prod, demo_capture, vpc, credentials="iam", iam_user=SUPERUSER,
                                      endpoint_override=source_server.conninfo(SOURCE_DB)))
    assert outcome.status == "passed", failed(outcome) or outcome.error
    [modify] = calls.modifies
    assert modify["enable_iam_database_authentication"] is True and modify["apply_immediately"] is True
    assert "master_user_password" not in modify
    [conninfo] = conninfos
    assert "X-Amz-Signature=" in conninfo and "Action=connect" in conninfo  # an rds-db:connect token
    assert f"DBUser={SUPERUSER}" in conninfo
    record = json.dumps(outcome.as_evidence())
    assert "X-Amz-Signature" not in record
    assert outcome.as_evidence()["sandbox"]["credentials"] == "iam"
    assert harness_leftovers(aws.url) == []


@pytest.mark.postgres
def test_a_run_killed_while_the_password_is_reset_leaves_an_instance_the_janitor_finds(
        tmp_path: Path, aws: MotoServer, prod: str, demo_capture: Capture, source_server: PostgresServer,
        vpc: Vpc, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGKILL runs no clean-up: the instance restored before the kill stays, tagged, and `restoreproof janitor`
    lists then deletes it. moto's ModifyDBInstance is held until the harness (a subprocess) is killed, so the
    kill lands in the credentials step for sure."""
    reached, release = threading.Event(), threading.Event()
    modify = RDSBackend.modify_db_instance

    def held(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        reached.set()
        release.wait(60)
        return modify(self, db_instance_identifier, db_kwargs)

    monkeypatch.setattr(RDSBackend, "modify_db_instance", held)
    src = source(prod, demo_capture, vpc, credentials="reset", endpoint_override=source_server.conninfo(SOURCE_DB))
    (tmp_path / "inventory.toml").write_text(_toml({"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
                                                    "source": src}))
    run = subprocess.Popen([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml", "--reports-dir",
                            "reports"], cwd=tmp_path, env={**os.environ, "AWS_MAX_ATTEMPTS": "1"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert reached.wait(120), "the run never reached the password reset"
        run.kill()
        run.wait(30)
    finally:
        release.set()
        if run.poll() is None:
            run.kill()
            run.wait(30)
    [instance] = [left.split(" ", 1)[1] for left in harness_leftovers(aws.url)
                  if left.startswith("instance restoreproof-")]
    time.sleep(2)  # the created-at tag has whole seconds; the shortest age the janitor takes is 1s
    assert main(["janitor", "--older-than", "1s"]) == 0
    assert f"would delete: rds instance {instance} (" in capsys.readouterr().out
    assert main(["janitor", "--older-than", "1s", "--delete"]) == 0
    assert f"deleted: rds instance {instance}" in capsys.readouterr().out
    assert harness_leftovers(aws.url) == []
