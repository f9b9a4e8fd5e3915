"""Cloud SQL backups restored into temporary instances. No Cloud SQL emulator exists: the control plane is an
in-process fake of the Admin API (tests/cloudsql_support.py) that checks every request against the discovery
document google-api-python-client ships, so a wrong method, parameter or body field fails the test. The data
plane is the demo PostgreSQL database, reached through `endpoint_override` (the fake has no database behind it).
Every path deletes the temporary instance, and the harness's password never reaches a log or the evidence."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.cloud_support import GcsEmulator, gcs, gcs_emulator  # noqa: F401 - fixtures
from tests.cloudsql_support import TEMPORARY_PUBLIC_IP, SqlAdminServer, sqladmin  # noqa: F401 - the fixture
from tests.conftest import SOURCE_DB, Capture, failed
from verifiers.cloudsql import LABEL_CREATED, LABEL_RUN, LABEL_STORE, LABEL_TEMPORARY
from verifiers.gcp import gcs_client
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.stores.postgres.local_server import PostgresServer

PROJECT, SOURCE = "acme-prod", "prod-db"
RUNNER_CIDR = "192.0.2.0/24"


BEFORE_THE_RUNS = "2026-11-29T02:55:00+00:00"  # the fixture's runs start 2026-11-29T03:00Z and later


def captured(tmp_path: Path, capture: Capture, captured_at: str = BEFORE_THE_RUNS, snapshot_id: str | None = None,
             name: str = "", folder: str = "manifests") -> Path:
    """A copy of `capture`'s manifest, captured at `captured_at` (recording `snapshot_id`): demo_capture was taken
    now, after the fixture's backup runs, so it pairs with none of them by time."""
    (tmp_path / folder).mkdir(exist_ok=True)
    raw = json.loads(capture.manifest.read_text(encoding="utf-8"))
    path = tmp_path / folder / (name or capture.manifest.name)
    path.write_text(json.dumps({**raw, "captured_at": captured_at, "snapshot_id": snapshot_id}), encoding="utf-8")
    return path


def inventory(tmp_path: Path, capture: Capture, server: PostgresServer | None, **source: object) -> Any:
    src: dict[str, object] = {"type": "cloudsql-backup", "project": PROJECT, "instance": SOURCE,
                              "manifest": str(captured(tmp_path, capture, folder="default")),
                              "manifest_tolerance": "2d",
                              "authorized_networks": [RUNNER_CIDR],
                              "endpoint_override": server.conninfo(SOURCE_DB) if server else "host=/nonexistent"}
    src.update(source)
    store = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d", "source": src}
    return parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")


def verify(tmp_path: Path, capture: Capture, server: PostgresServer | None, **source: object) -> StoreOutcome:
    loaded = inventory(tmp_path, capture, server, **source)
    plan = plan_store(loaded.stores[0], loaded.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    return run_store(plan)


def plan_failure(tmp_path: Path, capture: Capture, **source: object) -> PlanFailure:
    loaded = inventory(tmp_path, capture, None, **source)
    plan = plan_store(loaded.stores[0], loaded.base_dir)
    assert isinstance(plan, PlanFailure)
    return plan


def temporary(api: SqlAdminServer) -> list[str]:
    return [name for name in api.fake.instances if name != SOURCE]


@pytest.fixture
def production(sqladmin: SqlAdminServer) -> SqlAdminServer:  # noqa: F811 - the fixture imported above
    """The source instance with four backup runs: the newest FAILED, the next SUCCESSFUL, one RUNNING."""
    fake = sqladmin.fake
    fake.add_instance(SOURCE, version="POSTGRES_16", region="europe-west1", tier="db-custom-2-7680",
                      edition="ENTERPRISE", disk_gb="250")
    fake.add_backup_run(SOURCE, "1001", started="2026-11-29T03:00:00.000Z")
    fake.add_backup_run(SOURCE, "1002", started="2026-11-30T03:00:00.000Z")
    fake.add_backup_run(SOURCE, "1003", started="2026-12-01T03:00:00.000Z", status="FAILED")
    fake.add_backup_run(SOURCE, "1004", started="2026-12-01T05:00:00.000Z", status="RUNNING",
                        backup_type="ON_DEMAND")
    return sqladmin


@pytest.mark.postgres
def test_the_newest_successful_backup_is_restored_into_a_labelled_instance_verified_and_deleted(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    production.fake.page_size = 2  # the runs come in two pages: both are read
    caplog.set_level(logging.DEBUG)
    outcome = verify(tmp_path, demo_capture, source_server)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    fake = production.fake

    runs = fake.called("sql.backupRuns.list")
    assert [c.params.get("pageToken") for c in runs] == [None, "2"]
    assert runs[0].params == {"project": PROJECT, "instance": SOURCE, "maxResults": "100"}

    (insert,) = fake.called("sql.instances.insert")
    body = insert.body or {}
    name = body["name"]
    assert name.startswith("restoreproof-saas-") and insert.params == {"project": PROJECT}
    assert body["databaseVersion"] == "POSTGRES_16" and body["region"] == "europe-west1"
    settings = body["settings"]
    assert settings["tier"] == "db-custom-2-7680" and settings["edition"] == "ENTERPRISE"
    assert settings["dataDiskSizeGb"] == "250"  # a restore needs at least the source's disk
    assert settings["deletionProtectionEnabled"] is False
    assert settings["backupConfiguration"] == {"enabled": False, "pointInTimeRecoveryEnabled": False}
    assert settings["ipConfiguration"] == {"sslMode": "ENCRYPTED_ONLY", "ipv4Enabled": True, "authorizedNetworks": [
        {"value": RUNNER_CIDR, "name": "restoreproof-runner-0"}]}
    labels = settings["userLabels"]
    assert {k: labels[k] for k in (LABEL_TEMPORARY, LABEL_RUN, LABEL_STORE)} == {
        LABEL_TEMPORARY: "true", LABEL_RUN: "4242", LABEL_STORE: "saas"}
    assert len(labels[LABEL_CREATED]) == len("20261206t181500z")

    (restore,) = fake.called("sql.instances.restoreBackup")
    assert restore.params == {"project": PROJECT, "instance": name}  # the temporary one, never the source
    assert restore.body == {"restoreBackupContext": {"backupRunId": "1002", "instanceId": SOURCE,
                                                     "project": PROJECT}}
    (update,) = fake.called("sql.users.update")
    assert update.params == {"project": PROJECT, "instance": name, "name": "postgres"}
    password = fake.users[(name, "postgres")]
    assert len(password) >= 32 and (update.body or {}).get("name") == "postgres"
    (delete,) = fake.called("sql.instances.delete")
    assert delete.params == {"project": PROJECT, "instance": name}
    assert temporary(production) == []  # deleted, and the deletion waited for (the fake removes it when done)
    assert fake.methods_called()[-1] == "sql.operations.get"
    order = [m for m in fake.methods_called() if m != "sql.operations.get"]
    assert order == ["sql.instances.get", "sql.backupRuns.list", "sql.backupRuns.list", "sql.backupRuns.get",
                     "sql.instances.insert", "sql.instances.restoreBackup", "sql.users.update", "sql.instances.get",
                     "sql.instances.delete"]

    record = outcome.as_evidence()
    artifact, sandbox = record["artifact"], record["sandbox"]
    assert artifact["backup_run_id"] == "1002"
    assert artifact["path"] == f"projects/{PROJECT}/instances/{SOURCE}/backupRuns/1002"
    assert artifact["backup_created"] == "2026-11-30T03:00:00+00:00" and artifact["engine"] == "POSTGRES_16"
    assert sandbox["type"] == "gcp-cloudsql" and sandbox["instance"] == f"{PROJECT}:{name}"
    assert "restoreproof-temporary=true" in sandbox["labels"]
    assert "delete" in sandbox["operations"]
    assert {c["check"] for c in record["checks"]} >= {"artifact", "restore", "row_count", "checksum", "rto", "rpo"}
    assert password not in json.dumps(record) and password not in caplog.text


@pytest.mark.postgres
def test_a_manifest_kept_in_gcs_is_fetched_and_a_missing_one_named(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer,
        gcs: GcsEmulator) -> None:  # noqa: F811 - the fixture imported above
    bucket = gcs_client().create_bucket("acme-manifests")
    try:
        bucket.blob("saas/" + demo_capture.manifest.name).upload_from_string(
            captured(tmp_path, demo_capture).read_bytes())
        url = f"gs://acme-manifests/saas/{demo_capture.manifest.name}"
        outcome = verify(tmp_path, demo_capture, source_server, manifest=url)
        assert outcome.status == "passed", failed(outcome) or outcome.error
        assert outcome.reference == "manifest" and temporary(production) == []
        missing = plan_failure(tmp_path, demo_capture, manifest="gs://acme-manifests/saas/none.manifest.json")
        assert missing.message.startswith("store saas: ") and "gs://acme-manifests/saas/none.manifest.json" in (
            missing.message), missing.message
        assert len(production.fake.called("sql.instances.insert")) == 1  # the failed plan created nothing
    finally:
        for blob in bucket.list_blobs():
            blob.delete()
        bucket.delete()


@pytest.mark.postgres
def test_a_named_backup_run_is_restored(tmp_path: Path, production: SqlAdminServer, demo_capture: Capture,
                                        source_server: PostgresServer) -> None:
    outcome = verify(tmp_path, demo_capture, source_server, backup="1001")
    assert outcome.status == "passed", failed(outcome) or outcome.error
    (restore,) = production.fake.called("sql.instances.restoreBackup")
    assert (restore.body or {})["restoreBackupContext"]["backupRunId"] == "1001"


def test_the_connection_uses_the_harness_password_over_tls_on_the_public_ip() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from verifiers.inventory_cloud import CloudSqlBackupSource
    from verifiers.sandboxes.cloudsql import Login
    from verifiers.stores.postgres.cloudsql import data_plane

    source = CloudSqlBackupSource(type="cloudsql-backup", project=PROJECT, instance=SOURCE,
                                  authorized_networks=[RUNNER_CIDR], database="app")
    login = Login(TEMPORARY_PUBLIC_IP, 5432, "postgres", "s3cret-harness-password")
    assert conninfo_to_dict(data_plane(login, source)) == {
        "host": TEMPORARY_PUBLIC_IP, "port": "5432", "dbname": "app", "user": "postgres",
        "password": "s3cret-harness-password", "sslmode": "require", "connect_timeout": "30"}
    assert "s3cret" not in repr(login)


@pytest.mark.parametrize(("runs", "named", "expected"), [
    ([("7", "FAILED"), ("8", "RUNNING")], "latest",
     "store saas: Cloud SQL instance acme-prod:prod-db has no SUCCESSFUL backup run (runs found: FAILED x1, "
     "RUNNING x1)"),
    ([], "latest", "has no SUCCESSFUL backup run (runs found: none at all)"),
    ([("7", "FAILED")], "7", "store saas: backup run 7 of Cloud SQL instance acme-prod:prod-db is FAILED, not "
     "SUCCESSFUL"),
    ([("7", "SUCCESSFUL")], "9", "store saas: Cloud SQL instance acme-prod:prod-db has no backup run 9"),
])
def test_no_usable_backup_run_fails_the_plan_naming_instance_and_statuses(
        tmp_path: Path, sqladmin: SqlAdminServer, demo_capture: Capture,  # noqa: F811
        runs: list[tuple[str, str]], named: str, expected: str) -> None:
    sqladmin.fake.add_instance(SOURCE)
    for run_id, status in runs:
        sqladmin.fake.add_backup_run(SOURCE, run_id, status=status)
    failure = plan_failure(tmp_path, demo_capture, backup=named)
    assert expected in failure.message
    assert sqladmin.fake.called("sql.instances.insert") == []  # nothing created for a plan that failed


def test_a_missing_source_instance_or_permission_is_named(
        tmp_path: Path, sqladmin: SqlAdminServer, demo_capture: Capture) -> None:  # noqa: F811
    failure = plan_failure(tmp_path, demo_capture)
    assert failure.message.startswith("store saas: Cloud SQL instance acme-prod:prod-db: instances.get: HTTP 404")
    assert "check stores.source.project and instance" in failure.message
    sqladmin.fake.add_instance(SOURCE)
    sqladmin.fake.fail_http["sql.backupRuns.list"] = (403, "The client is not authorized to make this request.")
    failure = plan_failure(tmp_path, demo_capture)
    assert "backupRuns.list: HTTP 403 The client is not authorized" in failure.message
    assert "roles/cloudsql.admin" in failure.message


def test_a_backup_of_another_engine_names_the_kind(
        tmp_path: Path, sqladmin: SqlAdminServer, demo_capture: Capture) -> None:  # noqa: F811
    sqladmin.fake.add_instance(SOURCE, version="MYSQL_8_0")
    sqladmin.fake.add_backup_run(SOURCE, "5")
    failure = plan_failure(tmp_path, demo_capture)
    assert "is MYSQL_8_0; a postgres store restores POSTGRES_* backups only" in failure.message


@pytest.mark.parametrize(("fault", "phase", "message"), [
    ({"fail_http": {"sql.instances.insert": (403, "Not authorized to create instances")}}, "provision",
     "instances.insert: HTTP 403 Not authorized to create instances"),
    ({"fail_operation": {"sql.instances.insert": "QUOTA_EXCEEDED"}}, "provision",
     "operation op-0001-create failed: QUOTA_EXCEEDED"),
    ({"fail_http": {"sql.instances.restoreBackup": (403, "Not authorized to restore")}}, "restore",
     "instances.restoreBackup: HTTP 403 Not authorized to restore"),
    ({"fail_http": {"sql.users.update": (403, "Not authorized to update users")}}, "verify",
     "users.update postgres: HTTP 403 Not authorized to update users"),
])
def test_every_failing_step_still_deletes_the_instance(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, fault: dict[str, Any], phase: str,
        message: str) -> None:
    for attribute, value in fault.items():
        setattr(production.fake, attribute, value)
    outcome = verify(tmp_path, demo_capture, None)
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == phase
    assert message in outcome.error["message"] and "store saas: temporary Cloud SQL instance" in outcome.error[
        "message"]
    (insert,) = production.fake.called("sql.instances.insert")
    (delete,) = production.fake.called("sql.instances.delete")
    assert delete.params["instance"] == (insert.body or {})["name"]
    assert temporary(production) == []


def test_a_failed_restore_operation_fails_the_restore_check_and_deletes(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture) -> None:
    production.fake.fail_operation["sql.instances.restoreBackup"] = "INTERNAL_ERROR"
    outcome = verify(tmp_path, demo_capture, None)
    assert outcome.status == "failed"
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert not restore.passed and restore.observed == "failed"
    assert "failed: INTERNAL_ERROR" in restore.message
    data = [c for c in outcome.checks if c.check == "row_count"]
    assert data and all(not c.passed and "not verified" in c.message for c in data)
    assert production.fake.called("sql.users.update") == []
    assert temporary(production) == []


def test_an_unreachable_instance_is_an_error_with_the_fix_and_deletes(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture) -> None:
    outcome = verify(tmp_path, demo_capture, None)  # endpoint_override: a socket directory that does not exist
    assert outcome.error is not None and outcome.error["phase"] == "verify"
    assert outcome.error["message"].startswith("store saas: cannot connect to the temporary Cloud SQL instance")
    assert "authorized_networks" in outcome.error["message"]
    assert temporary(production) == []


def test_a_restore_that_times_out_is_an_error_naming_the_operation_and_deletes(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture) -> None:
    production.fake.slow["sql.instances.restoreBackup"] = 10_000
    outcome = verify(tmp_path, demo_capture, None, restore_timeout="1s")
    assert outcome.status == "error" and outcome.error is not None and outcome.error["phase"] == "restore"
    assert "Cloud SQL did not finish restoring backup run 1002 within restore_timeout (1s)" in outcome.error[
        "message"]
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert restore.observed == "timed out" and "operation op-0002-restore_volume was not done" in restore.message
    assert temporary(production) == []


def test_a_deletion_that_fails_names_the_instance_and_the_janitor(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer) -> None:
    production.fake.fail_http["sql.instances.delete"] = (500, "backend error")
    outcome = verify(tmp_path, demo_capture, source_server)
    assert outcome.status == "error" and outcome.error is not None and outcome.error["phase"] == "teardown"
    message = outcome.error["message"]
    assert "could not delete the temporary Cloud SQL instance acme-prod:restoreproof-saas-" in message
    assert "restoreproof janitor --cloud gcp --gcp-project acme-prod --delete" in message
    assert "restoreproof-temporary=true" in message


def test_a_request_off_the_contract_is_refused_and_recorded(sqladmin: SqlAdminServer) -> None:  # noqa: F811
    """The fake's contract check can fail: an unknown body field, a wrong type, an unknown parameter."""
    fake = sqladmin.fake
    fake.add_instance(SOURCE)
    status, _ = fake.handle("POST", f"/v1/projects/{PROJECT}/instances", json.dumps(
        {"name": "x", "settings": {"tier": "db-f1-micro", "labels": {"a": "b"}}}).encode())
    assert status == 400 and "unknown field 'labels'" in fake.contract_errors[-1]
    fake.handle("POST", f"/v1/projects/{PROJECT}/instances/x/restoreBackup", json.dumps(
        {"restoreBackupContext": {"backupRunId": 1002}}).encode())
    assert "backupRunId: 1002 is not a string (int64)" in fake.contract_errors[-1]
    fake.handle("GET", f"/v1/projects/{PROJECT}/instances/{SOURCE}/backupRuns?limit=5", b"")
    assert "unknown query parameter 'limit'" in fake.contract_errors[-1]
    fake.handle("POST", f"/v1/projects/{PROJECT}/instances", json.dumps(
        {"name": "x", "settings": {"ipConfiguration": {"sslMode": "TLS"}}}).encode())
    assert "'TLS' is none of" in fake.contract_errors[-1]
    assert len(fake.contract_errors) == 4
    fake.contract_errors.clear()  # the fixture fails any test that leaves one


def test_an_interrupted_run_still_deletes_the_instance(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(conninfo: str, store: str) -> None:
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr("verifiers.stores.postgres.cloudsql.probe_connection", interrupt)
    outcome = verify(tmp_path, demo_capture, None)
    assert outcome.interrupted
    assert outcome.error == {"phase": "verify", "message": "interrupted (Ctrl-C or SIGTERM)"}
    assert len(production.fake.called("sql.instances.delete")) == 1
    assert temporary(production) == []


def test_a_killed_run_leaves_an_instance_the_janitor_finds(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A process killed outright (SIGKILL: no `finally` runs) is simulated by a delete that never reaches the
    API; the instance it leaves carries the label and name the janitor sweeps by."""
    from verifiers.cli import main
    from verifiers.sandboxes.cloudsql import CloudSqlSandbox

    monkeypatch.setattr(CloudSqlSandbox, "delete", lambda self: None)
    verify(tmp_path, demo_capture, None)
    (left,) = temporary(production)
    labels = production.fake.instances[left]["settings"]["userLabels"]
    labels[LABEL_CREATED] = "20200101t000000z"  # the run was killed long ago
    assert main(["janitor", "--cloud", "gcp", "--gcp-project", PROJECT, "--older-than", "1s", "--delete"]) == 0
    assert f"deleted: cloud sql instance {PROJECT}:{left} (RUNNABLE) of store saas" in capsys.readouterr().out
    assert temporary(production) == []


def manifest_check_of(outcome: StoreOutcome) -> dict[str, Any]:
    [check] = [c for c in outcome.as_evidence()["checks"] if c["check"] == "manifest"]
    return check  # type: ignore[no-any-return]


@pytest.mark.postgres
def test_a_folder_of_manifests_pairs_the_newest_captured_before_the_backup_run(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer) -> None:
    folder = captured(tmp_path, demo_capture, "2026-11-30T01:00:00+00:00", name="old.manifest.json").parent
    captured(tmp_path, demo_capture, "2026-11-30T02:50:00+00:00", name="paired.manifest.json")
    captured(tmp_path, demo_capture, "2026-11-30T03:10:00+00:00", name="after.manifest.json")
    outcome = verify(tmp_path, demo_capture, source_server, manifest=str(folder), manifest_tolerance="1h")
    assert outcome.status == "passed", failed(outcome) or outcome.error
    check = manifest_check_of(outcome)
    assert check["passed"] and check["observed"]["paired_by"] == "capture time"
    assert Path(check["observed"]["manifest"]).name == "paired.manifest.json"
    assert check["subject"] == "1002" and "1002" in check["message"]  # the evidence names the run and manifest


@pytest.mark.postgres
def test_a_manifest_recording_the_backup_run_id_is_paired_by_it(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer) -> None:
    folder = captured(tmp_path, demo_capture, "2026-11-30T02:55:00+00:00", name="by-time.manifest.json").parent
    captured(tmp_path, demo_capture, "2026-11-20T00:00:00+00:00", snapshot_id="1001", name="run-1001.manifest.json")
    outcome = verify(tmp_path, demo_capture, source_server, manifest=str(folder), backup="1001")
    assert outcome.status == "passed", failed(outcome) or outcome.error
    check = manifest_check_of(outcome)
    assert check["observed"]["paired_by"] == "snapshot id"
    assert Path(check["observed"]["manifest"]).name == "run-1001.manifest.json"


@pytest.mark.postgres
def test_a_manifest_from_another_time_fails_the_manifest_check_and_creates_no_instance(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer,
        gcs: GcsEmulator) -> None:  # noqa: F811 - the fixture imported above
    stale = captured(tmp_path, demo_capture, "2026-11-29T02:55:00+00:00")  # a day before run 1002
    for manifest in (str(stale), "gs://acme-manifests/saas/stale.manifest.json"):
        bucket = gcs_client().lookup_bucket("acme-manifests") or gcs_client().create_bucket("acme-manifests")
        bucket.blob("saas/stale.manifest.json").upload_from_string(stale.read_bytes())
        outcome = verify(tmp_path, demo_capture, source_server, manifest=manifest, manifest_tolerance="1h")
        assert outcome.status == "failed"
        check = manifest_check_of(outcome)
        assert not check["passed"]
        assert check["message"].startswith("no manifest matches snapshot 1002 (created 2026-11-30T03:00:00+00:00)")
        assert manifest in check["message"]  # the closest candidate, named
    assert production.fake.called("sql.instances.insert") == []  # nothing was restored
    for blob in bucket.list_blobs():
        blob.delete()
    bucket.delete()


@pytest.mark.postgres
def test_a_gcs_prefix_of_manifests_pairs_the_one_captured_for_the_backup_run(
        tmp_path: Path, production: SqlAdminServer, demo_capture: Capture, source_server: PostgresServer,
        gcs: GcsEmulator) -> None:  # noqa: F811 - the fixture imported above
    bucket = gcs_client().create_bucket("acme-manifest-history")
    try:
        for name, when in (("old", "2026-11-29T02:50:00+00:00"), ("paired", "2026-11-30T02:50:00+00:00"),
                           ("after", "2026-11-30T03:10:00+00:00")):
            body = captured(tmp_path, demo_capture, when, name=f"{name}.manifest.json").read_bytes()
            bucket.blob(f"saas/{name}.manifest.json").upload_from_string(body)
        bucket.blob("saas/saas.sql.gz").upload_from_string(b"not a manifest: not listed")
        outcome = verify(tmp_path, demo_capture, source_server, manifest="gs://acme-manifest-history/saas/",
                         manifest_tolerance="1h")
        assert outcome.status == "passed", failed(outcome) or outcome.error
        check = manifest_check_of(outcome)
        assert check["observed"]["manifest"] == "gs://acme-manifest-history/saas/paired.manifest.json"
        assert check["observed"]["paired_by"] == "capture time"
        empty = verify(tmp_path, demo_capture, source_server, manifest="gs://acme-manifest-history/elsewhere/")
        assert empty.status == "failed"
        assert "the manifest location holds no *.manifest.json" in manifest_check_of(empty)["message"]
        assert len(production.fake.called("sql.instances.insert")) == 1  # the unpaired run created no instance
    finally:
        for blob in bucket.list_blobs():
            blob.delete()
        bucket.delete()
