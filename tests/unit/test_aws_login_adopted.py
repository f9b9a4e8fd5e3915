"""Resetting the credentials of the instance AWS Backup restore testing restored: the role of `restoreproof init
--iac aws` allows ModifyDBInstance / ModifyDBCluster only on restoreproof-* sandboxes unless deployed with
EnableRestoreTesting=true, so a refusal names that parameter. moto does not enforce IAM, so the refusal is
botocore's Stubber, with the exact request asserted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import boto3
import pytest
from botocore.stub import ANY, Stubber

from verifiers.errors import SandboxError
from verifiers.sandboxes.aws_login import log_in
from verifiers.sandboxes.aws_rds import RdsSandbox, RdsSandboxSettings
from verifiers.sandboxes.aws_rds_adopted import AdoptedRdsSandbox
from verifiers.sources.rds_snapshot import Snapshot

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

SNAPSHOT = Snapshot(id="awsbackup:job-1", arn="arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:job-1",
                    cluster=False, source_id="app-prod", created="2026-12-01T00:00:00Z", snapshot_type="awsbackup",
                    status="available", engine="postgres", engine_version="16.3", encrypted=True, kms_key_id="",
                    allocated_gib=100, master_username="app", port=5432, region="eu-west-1", endpoint_url="")
SETTINGS = RdsSandboxSettings(store="saas", instance_class=None, subnet_group=None, security_groups=())
COPY = "awsbackup-restore-test-1a2b3c"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("rds", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
    with Stubber(client) as stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def refuse_modify(stub: Stubber, instance: str) -> None:
    stub.add_client_error(
        "modify_db_instance", service_error_code="AccessDenied", http_status_code=403,
        service_message=f"User is not authorized to perform: rds:ModifyDBInstance on resource: {instance}",
        expected_params={"DBInstanceIdentifier": instance, "ApplyImmediately": True, "MasterUserPassword": ANY})


def test_a_refused_reset_of_an_adopted_instance_names_the_permission_and_the_template_parameter(
        stub: Stubber) -> None:
    refuse_modify(stub, COPY)
    sandbox = AdoptedRdsSandbox(cast("RDSClient", stub.client), SNAPSHOT, SETTINGS, instance_id=COPY,
                                cluster_id=None, tag="", restore_job_id="job-1",
                                resource_arn=f"arn:aws:rds:eu-west-1:123456789012:db:{COPY}")
    with pytest.raises(SandboxError) as raised:
        log_in(sandbox, "reset", iam_user=None, timeout=60)
    assert f"cannot set the credentials of the temporary RDS instance {COPY}" in str(raised.value)
    hint = raised.value.hint or ""
    assert "rds:ModifyDBInstance / rds:ModifyDBCluster" in hint
    assert "tagged awsbackup-restore-test" in hint
    assert "EnableRestoreTesting=true" in hint
    assert 'credentials = "environment"' in hint


def test_a_refused_reset_of_the_harnesss_own_sandbox_keeps_the_plain_permission_hint(stub: Stubber) -> None:
    own = "restoreproof-saas-1a2b3c4d"
    refuse_modify(stub, own)
    sandbox = RdsSandbox(cast("RDSClient", stub.client), SNAPSHOT, SETTINGS, instance_id=own, cluster_id=None, tag=own)
    with pytest.raises(SandboxError) as raised:
        log_in(sandbox, "reset", iam_user=None, timeout=60)
    hint = raised.value.hint or ""
    assert "rds:ModifyDBInstance / rds:ModifyDBCluster (MasterUserPassword)" in hint
    assert "EnableRestoreTesting" not in hint


def test_iam_without_a_user_is_refused_before_anything_changes(stub: Stubber) -> None:
    """The inventory refuses it (RdsRestoreSettings); a caller bypassing the inventory still gets no token minted
    for a user the role may not connect as, and no request is sent (the Stubber has none queued)."""
    own = "restoreproof-saas-1a2b3c4d"
    sandbox = RdsSandbox(cast("RDSClient", stub.client), SNAPSHOT, SETTINGS, instance_id=own, cluster_id=None, tag=own)
    with pytest.raises(SandboxError, match='credentials = "iam" without iam_user'):
        log_in(sandbox, "iam", iam_user=None, timeout=60)
