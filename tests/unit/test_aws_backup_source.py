"""The aws-backup source's settings, the restore-testing message AWS Backup shows, and how a run is told which
restore-testing job it is for (no AWS needed: the flows themselves are in tests/integration/test_aws_backup*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from verifiers import cli
from verifiers.checks import CheckResult
from verifiers.doctor.cloud import aws_findings, source_findings
from verifiers.errors import SourceError
from verifiers.inventory import parse_inventory
from verifiers.sources import aws_backup
from verifiers.sources.aws_backup import MESSAGE_LIMIT, RecoveryPoint, rds_source_of, validation_message
from verifiers.store_settings import AwsBackupSource

VAULT = "prod-vault"


def source(**fields: Any) -> AwsBackupSource:
    return AwsBackupSource.model_validate({"type": "aws-backup", "vault": VAULT, **fields})


@pytest.mark.parametrize("fields", [{}, {"resource_type": "RDS"}, {"resource_name": "prod"},
                                    {"resource_arn": "arn:aws:rds:us-east-1:1:db:prod", "resource_name": "prod"}])
def test_the_resource_is_named_exactly_one_way(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"resource_arn|resource_type"):
        source(**fields)


def test_a_vault_name_aws_backup_would_refuse_is_refused() -> None:
    with pytest.raises(ValidationError, match="vault"):
        source(vault="prod vault!", resource_arn="arn:aws:s3:::assets")


@pytest.mark.parametrize("kind", ["postgres", "mysql", "dynamodb", "s3"])
def test_every_kind_with_an_aws_recovery_point_takes_the_source(kind: str, tmp_path: Path) -> None:
    store = {"name": "prod", "kind": kind, "rto": "1h", "rpo": "1d",
             "source": {"type": "aws-backup", "vault": VAULT, "resource_arn": "arn:aws:s3:::assets"}}
    assert parse_inventory({"stores": [store]}, tmp_path / "inventory.toml").stores[0].source.type == "aws-backup"


def test_a_kind_without_aws_recovery_points_refuses_it(tmp_path: Path) -> None:
    store = {"name": "cache", "kind": "redis", "rto": "1h", "rpo": "1d",
             "source": {"type": "aws-backup", "vault": VAULT, "resource_arn": "arn:aws:s3:::assets"}}
    with pytest.raises(Exception, match="source type `aws-backup` cannot be restored by a redis store"):
        parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")


def rds_point(arn: str, resource_arn: str, resource_type: str) -> RecoveryPoint:
    return RecoveryPoint(recovery_point_arn=arn, vault=VAULT, resource_arn=resource_arn, resource_type=resource_type,
                         resource_name=resource_arn.rsplit(":", 1)[-1], point_status="COMPLETED",
                         point_created="2026-12-06T03:00:00+00:00", point_bytes=0, point_encrypted=True,
                         point_kms_key="", region="us-east-1", endpoint_url="")


def test_an_rds_point_is_its_snapshot_by_the_identifier_aws_backup_gave_it() -> None:
    point = rds_point("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1f2e3d4c",
                      "arn:aws:rds:us-east-1:123456789012:db:prod", "RDS")
    rds = rds_source_of(source(resource_type="RDS", resource_name="prod", subnet_group="private",
                               security_groups=["sg-1"]), point, store="saas")
    assert (rds.instance, rds.cluster, rds.snapshot) == ("prod", None, "awsbackup:job-1f2e3d4c")
    assert (rds.subnet_group, rds.security_groups) == ("private", ["sg-1"])


def test_an_rds_point_is_reached_and_logged_in_to_as_the_source_says() -> None:
    point = rds_point("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-1f2e3d4c",
                      "arn:aws:rds:us-east-1:123456789012:db:prod", "RDS")
    given = source(resource_type="RDS", resource_name="prod", region="eu-west-1", runner_security_group="sg-0abc",
                   runner_cidr="10.0.8.0/24", reachability="warn", credentials="iam", iam_user="restoreproof",
                   database="app", restore_timeout="45m")
    rds = rds_source_of(given, point, store="saas")
    assert (rds.region, rds.runner_security_group, str(rds.runner_cidr), rds.reachability) == (
        "eu-west-1", "sg-0abc", "10.0.8.0/24", "warn")
    assert (rds.credentials, rds.iam_user, rds.database, rds.restore_timeout) == ("iam", "restoreproof", "app", 2700)


def test_an_aurora_point_is_its_cluster_snapshot_and_needs_an_instance_class() -> None:
    point = rds_point("arn:aws:rds:us-east-1:123456789012:cluster-snapshot:awsbackup:job-9a8b",
                      "arn:aws:rds:us-east-1:123456789012:cluster:ledger", "Aurora")
    rds = rds_source_of(source(resource_type="Aurora", resource_name="ledger", instance_class="db.r6g.large"), point,
                        store="ledger")
    assert (rds.instance, rds.cluster, rds.snapshot) == (None, "ledger", "awsbackup:job-9a8b")
    with pytest.raises(SourceError, match=r"set stores\.source\.instance_class"):
        rds_source_of(source(resource_type="Aurora", resource_name="ledger"), point, store="ledger")


def check(name: str, subject: str, passed: bool, observed: object = 0) -> CheckResult:
    return CheckResult(name, subject, passed, observed, 0, f"observed {observed!r}")


def test_the_verdict_names_failing_checks_and_counts_never_observed_values() -> None:
    results = [check("row_count", "public.users", True, 12), check("checksum", "public.users", False, "SECRET-ROW"),
               check("rto", "rto", True)]
    message = validation_message("failed", results, None)
    assert message == "restoreproof failed: 2 of 3 checks passed; failed: checksum public.users"
    assert "SECRET-ROW" not in message


def test_the_verdict_of_an_error_says_where_it_stopped_with_secrets_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    message = validation_message("error", [], {"phase": "provision",
                                               "message": "cannot connect to postgresql://app:hunter2@db/x"})
    assert message.startswith("restoreproof error: 0 of 0 checks passed; error in provision: cannot connect to ")
    assert "hunter2" not in message


def test_the_verdict_is_capped() -> None:
    results = [check("checksum", f"schema.table_{i:04}", False) for i in range(400)]
    message = validation_message("failed", results, None)
    assert len(message) == MESSAGE_LIMIT
    assert message.endswith("…")


def test_verify_hands_the_restore_job_to_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[stores]]\nname = "assets"\nkind = "s3"\nrto = "1h"\nrpo = "1d"\n'
                         '[stores.source]\ntype = "aws-backup"\nvault = "prod-vault"\n'
                         'resource_arn = "arn:aws:s3:::assets"\nmanifest = "assets.manifest.json"\n')
    monkeypatch.delenv(aws_backup.RESTORE_JOB_ENV, raising=False)
    seen: list[str | None] = []

    def pytest_main(args: list[str]) -> int:
        import os

        seen.append(os.environ.get(aws_backup.RESTORE_JOB_ENV))
        return 0

    monkeypatch.setattr("pytest.main", pytest_main)
    assert cli.main(["verify", "--inventory", str(inventory), "--aws-backup-restore-job", "job-42"]) == 0
    assert seen == ["job-42"]
    assert cli.AWS_BACKUP_RESTORE_JOB_ENV == aws_backup.RESTORE_JOB_ENV


def test_doctor_shows_the_sources_credentials_and_requires_a_region(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws_findings.cache_clear()
    found = {f.subject: f for f in source_findings(source(resource_arn="arn:aws:s3:::assets"), probe=False)}
    assert found["credentials"].status == "ok" and "AWS credentials from env" in found["credentials"].detail
    assert found["region"].status == "fail"  # recovery points are regional: no silent us-east-1
    aws_findings.cache_clear()
    found = {f.subject: f for f in source_findings(source(resource_arn="arn:aws:s3:::assets", region="eu-west-1"),
                                                   probe=False)}
    assert found["region"].detail == "eu-west-1 (from the inventory)"
    aws_findings.cache_clear()


def test_the_documented_example_is_a_valid_inventory(tmp_path: Path) -> None:
    import tomllib

    page = (Path(__file__).parents[2] / "docs" / "aws-backup.md").read_text(encoding="utf-8")
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    [store] = parse_inventory(tomllib.loads(example), tmp_path / "inventory.toml").stores
    assert store.source.type == "aws-backup" and store.kind == "postgres"


@pytest.mark.parametrize(("error", "expected"), [
    (None, ("ok", "backup vault prod-vault: its recovery points can be listed")),
    ("ResourceNotFoundException", ("fail", "backup vault prod-vault: no such vault")),
    ("AccessDeniedException", ("fail", "backup vault prod-vault: ListRecoveryPointsByBackupVault refused: "
                                       "AccessDeniedException: not authorized")),
])
def test_doctor_probes_the_vault_with_the_call_the_source_makes(
        error: str | None, expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """moto has no recovery points: the probe's one call is stubbed, its parameters asserted."""
    import boto3
    from botocore.stub import Stubber

    from verifiers.doctor import cloud

    client = boto3.client("backup", region_name="eu-west-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    params = {"BackupVaultName": VAULT, "MaxResults": 1}
    with Stubber(client) as stub:
        if error is None:
            stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": []}, params)
        else:
            stub.add_client_error("list_recovery_points_by_backup_vault", error, "not authorized",
                                  expected_params=params)
        monkeypatch.setattr(cloud, "backup_client_for_probe", lambda region, endpoint_url: client)
        finding = cloud.backup_vault(VAULT, region="eu-west-1", endpoint_url=None)
        stub.assert_no_pending_responses()
    assert (finding.status, finding.detail) == expected
    if error == "AccessDeniedException":
        assert finding.hint is not None and "backup:ListRecoveryPointsByBackupVault" in finding.hint
