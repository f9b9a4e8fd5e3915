"""`restoreproof doctor` with the inventory's `[discovery]`, against moto's server over HTTP: offline it names the
services and the permissions they need and calls nothing; `--probe` runs one discovery and a denied listing (moto's
own AccessDenied reply: the backend method is replaced in its in-process server) fails, naming the permission."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend

from tests.aws_support import REGION, MotoServer
from verifiers.cli import main

INVENTORY = """
[[stores]]
name = "assets"
kind = "s3"
rto = "PT15M"
rpo = "30d"
source = { type = "s3-bucket", bucket = "doctor-disc-assets", manifest = "assets.json" }

[discovery.aws]
regions = ["us-east-1"]
services = ["rds", "dynamodb"]
names = ["doctor-disc-*"]
"""


@pytest.fixture
def inventory(aws: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESTOREPROOF_SIGNING_KEY", raising=False)
    monkeypatch.delenv("RESTOREPROOF_EVIDENCE_ARCHIVE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=aws.url)
    s3.create_bucket(Bucket="doctor-disc-assets")
    path = tmp_path / "inventory.toml"
    path.write_text(INVENTORY)
    return path


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["doctor", "--inventory", "inventory.toml", *args, "--json"])
    shown = json.loads(capsys.readouterr().out)
    main(["doctor", "--inventory", "inventory.toml", *args])
    return code, shown, capsys.readouterr().out


def test_offline_doctor_says_discovery_is_configured_and_what_it_needs(
        capsys: pytest.CaptureFixture[str], inventory: Path) -> None:
    code, shown, text = doctor(capsys)
    assert code == 0, text
    found = [(f["status"], f["subject"], f["detail"]) for f in shown["discovery"]]
    assert found == [
        ("ok", "discovery", "configured: aws rds, aws dynamodb; every run compares the inventory with what they hold"),
        ("ok", "permissions", "aws rds in us-east-1: rds:DescribeDBInstances, rds:DescribeDBClusters"),
        ("ok", "permissions", "aws dynamodb in us-east-1: dynamodb:ListTables, dynamodb:DescribeTable"),
        ("ok", "listing", "not tried (--probe lists each service once per region or project)")]
    assert "\nDiscovery\n  ok   discovery: configured: aws rds, aws dynamodb" in text


def test_probe_lists_every_service(capsys: pytest.CaptureFixture[str], inventory: Path) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(TableName="doctor-disc-orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    try:
        code, shown, text = doctor(capsys, "--probe")
    finally:
        ddb.delete_table(TableName="doctor-disc-orders")
    assert code == 0, text
    assert shown["discovery"][-1] == {"status": "ok", "subject": "listing",
                                      "detail": "every service listed: 1 production resource found"}


def test_probe_fails_when_every_service_lists_nothing(capsys: pytest.CaptureFixture[str], inventory: Path) -> None:
    """Filters that match nothing (no doctor-disc-* database or table): every run would compare nothing."""
    code, shown, text = doctor(capsys, "--probe")
    assert code == 1, text
    assert shown["discovery"][-1]["status"] == "fail"
    assert shown["discovery"][-1]["detail"] == ("every service listed, but discovery found no production store; "
                                                "check [discovery] regions/names/tags")


# moto warns that AWS models no AccessDenied shape for RDS; the reply is still the error AWS sends
@pytest.mark.filterwarnings("ignore:Exception\\(RDSClientError\\) with code AccessDenied:UserWarning")
def test_probe_fails_naming_the_permission_a_denied_listing_lacks(
        capsys: pytest.CaptureFixture[str], inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(backend: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        raise RDSClientError("AccessDenied", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                             "rds:DescribeDBInstances")

    monkeypatch.setattr(RDSBackend, "describe_db_instances", denied)
    code, shown, text = doctor(capsys, "--probe")
    assert code == 1 and shown["exit_code"] == 1 and shown["cannot_verify"] == []
    failed = [f for f in shown["discovery"] if f["status"] == "fail"]
    assert len(failed) == 1 and failed[0]["subject"] == "listing"
    assert failed[0]["detail"].startswith("aws rds in us-east-1: unknown: permission rds:DescribeDBInstances is "
                                          "missing (AccessDenied: ")
    assert text.rstrip().splitlines()[-1] == ("FAIL: discovery cannot list every configured service, or found "
                                              "nothing (every run's coverage check would fail or compare nothing)")
