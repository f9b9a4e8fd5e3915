"""The permissions discovery needs are one list (verifiers/discovery/permissions.py): every permission the AWS
listings name when denied is in it, docs/inventory-completeness.md's table says the same, and `restoreproof
doctor` offline reports them per configured service (tag permissions only with a tag filter), calling no API."""

from __future__ import annotations

import re
from pathlib import Path

from verifiers.discovery.permissions import AWS_PERMISSIONS, AWS_TAG_PERMISSIONS, GCP_PERMISSIONS, needed
from verifiers.discovery.settings import DiscoverySettings
from verifiers.doctor.discovery import discovery_findings

ROOT = Path(__file__).resolve().parents[2]
AWS = {p for group in (*AWS_PERMISSIONS.values(), *AWS_TAG_PERMISSIONS.values()) for p in group}


def table_row(cloud: str) -> set[str]:
    page = (ROOT / "docs" / "inventory-completeness.md").read_text()
    section = page.split("## Permissions", 1)[1].split("\n## ", 1)[0]
    (row,) = [line for line in section.splitlines() if line.startswith(f"| {cloud} |")]
    return set(re.findall(r"`([a-z0-9]+[:.][A-Za-z.]+)`", row))  # a permission, not `tags`


def test_the_page_lists_exactly_the_permissions_in_code() -> None:
    assert table_row("AWS") == AWS
    assert table_row("GCP") == set(GCP_PERMISSIONS.values())


def test_every_permission_the_aws_listings_name_is_in_the_list() -> None:
    source = (ROOT / "verifiers" / "discovery" / "aws.py").read_text()
    named = set(re.findall(r'"((?:rds|dynamodb|s3|elasticache):[A-Za-z]+)"', source))
    assert named == AWS


def settings(**aws: object) -> DiscoverySettings:
    return DiscoverySettings.model_validate({"aws": {"regions": ["eu-west-1", "us-east-1"], **aws},
                                             "gcp": {"projects": ["acme-prod"], "services": ["gcs"]}})


def test_tag_permissions_only_with_a_tag_filter() -> None:
    plain = {(n.cloud, n.service): n for n in needed(settings(services=["dynamodb", "s3"]))}
    assert plain["aws", "dynamodb"].permissions == ("dynamodb:ListTables", "dynamodb:DescribeTable")
    assert plain["aws", "dynamodb"].places == ("eu-west-1", "us-east-1")
    assert plain["aws", "s3"].places == ("the account (buckets kept in eu-west-1, us-east-1)",)
    assert plain["gcp", "gcs"].describe() == "gcp gcs in project acme-prod: storage.buckets.list"
    tagged = {(n.cloud, n.service): n for n in needed(settings(services=["dynamodb", "rds"], tags={"env": "prod"}))}
    assert tagged["aws", "dynamodb"].permissions[-1] == "dynamodb:ListTagsOfResource"
    assert tagged["aws", "rds"].permissions == ("rds:DescribeDBInstances", "rds:DescribeDBClusters")


def test_offline_doctor_names_the_configured_services_and_their_permissions() -> None:
    found = discovery_findings(settings(services=["rds"]), probe=False)
    assert [(f.status, f.subject) for f in found] == [("ok", "discovery"), ("ok", "permissions"),
                                                      ("ok", "permissions"), ("ok", "listing")]
    assert found[0].detail.startswith("configured: aws rds, gcp gcs; ")
    assert found[1].detail == "aws rds in eu-west-1, us-east-1: rds:DescribeDBInstances, rds:DescribeDBClusters"
    assert found[3].detail.startswith("not tried (--probe")
    assert discovery_findings(None, probe=True) == []
