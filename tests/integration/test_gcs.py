"""Google Cloud Storage against the gcp-storage-emulator server (in this process, through STORAGE_EMULATOR_HOST):
the gcs source streams the newest object and checks its CRC32C/MD5; the gcs store compares a bucket with its
captured manifest and judges its protection. Every failure names the store and the gs:// location.

The emulator does not enforce IAM, so a refused request (403) cannot be produced here; the denied-credential
case tested is Application Default Credentials that cannot be loaded, as google.auth reports it."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud_support import GcsEmulator, gcs, gcs_emulator  # noqa: F401 - fixtures
from tests.conftest import Capture, failed, manifest_claiming
from verifiers.cli import main
from verifiers.errors import SourceError
from verifiers.gcp import gcs_client
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sources import sha256_file
from verifiers.sources.gcs import GcsObjects

pytestmark = pytest.mark.usefixtures("gcs")
PREFIX = "backups/saas/"
KMS_KEY = "projects/p/locations/europe-west1/keyRings/backups/cryptoKeys/dumps"


@pytest.fixture
def bucket(gcs: GcsEmulator, request: pytest.FixtureRequest) -> Iterator[str]:  # noqa: F811
    name = "rp-" + request.node.name.lower().replace("_", "-")[:50]
    created = gcs_client().create_bucket(name)
    yield name
    for blob in gcs_client().list_blobs(name):
        blob.delete()
    created.delete()


def upload(bucket: str, name: str, data: bytes) -> None:
    gcs_client().bucket(bucket).blob(name).upload_from_string(data)


def upload_backup(bucket: str, dump: Path, manifest: Path, *, folder: str = PREFIX) -> str:
    name = folder + dump.name
    upload(bucket, name, dump.read_bytes())
    upload(bucket, folder + manifest.name, manifest.read_bytes())
    return name


def run_inventory(tmp_path: Path, store: dict[str, object]) -> StoreOutcome:
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def postgres_store(bucket: str, pattern: str = "saas-*.dump") -> dict[str, object]:
    return {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
            "source": {"type": "gcs", "bucket": bucket, "prefix": PREFIX, "pattern": pattern}}


@pytest.mark.postgres
def test_demo_backup_in_gcs_restores_and_passes(tmp_path: Path, bucket: str, demo_capture: Capture) -> None:
    name = upload_backup(bucket, demo_capture.dump, demo_capture.manifest)
    outcome = run_inventory(tmp_path, postgres_store(bucket))
    assert outcome.status == "passed", failed(outcome)
    artifact = outcome.as_evidence()["artifact"]
    assert artifact["path"] == f"gs://{bucket}/{name}"
    assert artifact["sha256"] == sha256_file(demo_capture.dump)
    assert artifact["gcs_checksum"] == "CRC32C and MD5 match GCS"


@pytest.mark.postgres
def test_cloud_sql_style_plain_gzip_export_restores(tmp_path: Path, bucket: str, demo_capture: Capture,
                                                    source_server: object, oldest_pg: object) -> None:
    """`gcloud sql export sql … gs://…/x.sql.gz --database=DB --clean --if-exists` writes pg_dump's plain format,
    gzipped; the same dump made here restores through the postgres store from GCS."""
    from tests.conftest import SOURCE_DB

    plain = tmp_path / "export" / "saas-cloudsql.sql"
    plain.parent.mkdir()
    subprocess.run([str(oldest_pg.tool("pg_dump")), "--format=plain", "--clean", "--if-exists",  # type: ignore[attr-defined]
                    f"--file={plain}", "--dbname", SOURCE_DB],
                   env=source_server.client_env(SOURCE_DB), check=True, capture_output=True)  # type: ignore[attr-defined]
    export = plain.with_name(plain.name + ".gz")
    export.write_bytes(gzip.compress(plain.read_bytes()))
    manifest = manifest_claiming(demo_capture.manifest, export, plain.with_name("saas-cloudsql.manifest.json"))
    upload_backup(bucket, export, manifest)
    outcome = run_inventory(tmp_path, postgres_store(bucket, pattern="saas-cloudsql.sql.gz"))
    assert outcome.status == "passed", failed(outcome)


def test_newest_matching_object_wins_and_manifests_are_not_artifacts(tmp_path: Path, bucket: str) -> None:
    for name in ("saas-20250101.dump", "saas-20250101.manifest.json", "saas-20250102.dump",
                 "saas-20250102.manifest.json", "other-20250103.dump"):
        upload(bucket, PREFIX + name, name.encode())
    inventory = parse_inventory({"stores": [postgres_store(bucket)]}, tmp_path / "inventory.toml")
    located = GcsObjects().locate(inventory.stores[0].source, base_dir=tmp_path, store="saas")  # type: ignore[arg-type]
    assert located.location == f"gs://{bucket}/{PREFIX}saas-20250102.dump"
    assert located.manifest_path is not None
    assert located.manifest_path.read_bytes() == b"saas-20250102.manifest.json"


def test_no_matching_object_is_a_clear_error(tmp_path: Path, bucket: str) -> None:
    upload(bucket, PREFIX + "other.dump", b"x")
    outcome = plan_store(parse_inventory({"stores": [postgres_store(bucket)]}, tmp_path / "i.toml").stores[0],
                         tmp_path)
    assert isinstance(outcome, PlanFailure)
    assert f"no object in gs://{bucket}/{PREFIX} matches 'saas-*.dump'" in outcome.message
    assert "pattern" in outcome.message


def test_missing_manifest_and_missing_bucket_are_clear_errors(tmp_path: Path, bucket: str) -> None:
    upload(bucket, PREFIX + "saas-1.dump", b"x")
    source = parse_inventory({"stores": [postgres_store(bucket)]}, tmp_path / "i.toml").stores[0].source
    with pytest.raises(SourceError, match=rf"cannot read manifest gs://{bucket}/{PREFIX}saas-1.manifest.json: "
                       "not found") as err:
        GcsObjects().locate(source, base_dir=tmp_path, store="saas")  # type: ignore[arg-type]
    assert err.value.hint and "manifest beside" in err.value.hint
    gone = parse_inventory({"stores": [postgres_store("rp-no-such-bucket")]}, tmp_path / "i.toml").stores[0].source
    with pytest.raises(SourceError, match=r"cannot list gs://rp-no-such-bucket/.*not found"):
        GcsObjects().locate(gone, base_dir=tmp_path, store="saas")  # type: ignore[arg-type]


def test_corrupt_object_fails_its_crc32c_and_leaves_no_download(gcs: GcsEmulator, tmp_path: Path,  # noqa: F811
                                                                 bucket: str) -> None:
    upload(bucket, PREFIX + "saas-1.dump", b"the backup" * 1000)
    upload(bucket, PREFIX + "saas-1.manifest.json", b"{}")
    gcs.damage(bucket, PREFIX + "saas-1.dump", b"the backuP" * 1000)  # same size, different bytes
    source = parse_inventory({"stores": [postgres_store(bucket)]}, tmp_path / "i.toml").stores[0].source
    located = GcsObjects().locate(source, base_dir=tmp_path, store="saas")  # type: ignore[arg-type]
    with pytest.raises(SourceError, match=rf"store saas: gs://{bucket}/{PREFIX}saas-1.dump MISMATCH: CRC32C"):
        GcsObjects().fetch(located, store="saas", work_dir=tmp_path / "work")
    assert list((tmp_path / "work" / "download").iterdir()) == []


def test_unloadable_credentials_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    # a named key file that does not exist: google.auth fails before any request (no metadata-server probe)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    source = parse_inventory({"stores": [postgres_store("rp-any")]}, tmp_path / "i.toml").stores[0].source
    with pytest.raises(SourceError, match="store saas: cannot list gs://rp-any/backups/saas/: no usable Google "
                       "credentials") as err:
        GcsObjects().locate(source, base_dir=tmp_path, store="saas")  # type: ignore[arg-type]
    assert err.value.hint and "gcloud auth application-default login" in err.value.hint


def bucket_store(bucket: str, manifest: Path, **settings: object) -> dict[str, object]:
    return {"name": "assets", "kind": "gcs", "rto": "15m", "rpo": "30d", "sample": 2,
            "source": {"type": "gcs-bucket", "bucket": bucket, "prefix": "assets/", "manifest": str(manifest)},
            **settings}


def protect(bucket: str, *, kms_key: str | None = KMS_KEY) -> None:
    settings = gcs_client().get_bucket(bucket)
    settings.versioning_enabled = True
    settings.iam_configuration.public_access_prevention = "enforced"
    settings.default_kms_key_name = kms_key
    settings.patch()


def test_bucket_matches_its_captured_manifest_then_differences_are_named(
        tmp_path: Path, bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(4):
        upload(bucket, f"assets/file-{i}.bin", f"content {i}".encode())
    protect(bucket)
    manifest = tmp_path / "assets.manifest.json"
    assert main(["capture", "gcs", "--bucket", bucket, "--prefix", "assets/", "--out", str(manifest)]) == 0
    assert json.loads(manifest.read_text())["kind"] == "gcs"
    store = bucket_store(bucket, manifest, protection={"kms_key": KMS_KEY})
    outcome = run_inventory(tmp_path, store)
    assert outcome.status == "passed", failed(outcome)
    assert {c.subject for c in outcome.checks if c.check == "protection"} == {"versioning", "encryption",
                                                                             "public_access"}

    gcs_client().bucket(bucket).blob("assets/file-0.bin").delete()
    upload(bucket, "assets/file-1.bin", b"content X")  # same size, different content
    upload(bucket, "assets/new.bin", b"new")
    outcome = run_inventory(tmp_path, store)
    problems = failed(outcome)
    assert set(problems) == {"objects:missing", "objects:changed", "objects:extra"}  # 4 objects either way
    assert "assets/file-0.bin" in problems["objects:missing"]
    assert "assets/file-1.bin" in problems["objects:changed"]
    assert "assets/new.bin" in problems["objects:extra"]
    assert "content" not in json.dumps(outcome.as_evidence())  # names, never contents


def test_unprotected_bucket_fails_its_protection_checks(tmp_path: Path, bucket: str) -> None:
    upload(bucket, "assets/a.bin", b"a")
    manifest = tmp_path / "m.json"
    assert main(["capture", "gcs", "--bucket", bucket, "--prefix", "assets/", "--out", str(manifest)]) == 0
    settings = gcs_client().get_bucket(bucket)
    settings.soft_delete_policy.retention_duration_seconds = 0  # the emulator's new buckets have 7 days
    settings.patch()
    outcome = run_inventory(tmp_path, bucket_store(bucket, manifest, protection={"kms_key": KMS_KEY}))
    problems = failed(outcome)
    assert set(problems) == {"protection:versioning", "protection:encryption", "protection:public_access"}
    assert "versioning or soft delete" in problems["protection:versioning"]
    assert "Google-managed keys, not CMEK" in problems["protection:encryption"]
    assert "public access prevention inherited" in problems["protection:public_access"]


def test_capture_of_a_missing_bucket_exits_non_zero_without_a_manifest(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main(["capture", "gcs", "--bucket", "rp-no-such-bucket", "--out", str(out)]) != 0
    assert "gs://rp-no-such-bucket/" in capsys.readouterr().err
    assert not out.exists()
