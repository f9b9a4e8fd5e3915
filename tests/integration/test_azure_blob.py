"""Azure Blob Storage against Azurite (a subprocess on a random port, through AZURE_STORAGE_CONNECTION_STRING):
the azure-blob source streams the newest blob and checks its Content-MD5; the azure-blob store compares a
container with its captured manifest and judges its protection. Azurite checks the shared-key signature, so a
wrong account key is refused as Azure refuses it.

Blob versioning and container soft delete are management-plane (ARM) settings that neither Azurite nor a data-plane
credential reads: the versioning check reads blob soft delete, which Azurite does implement."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import ContentSettings, RetentionPolicy

from tests.cloud_support import Azurite, azurite, azurite_server  # noqa: F401 - fixtures
from tests.conftest import Capture, failed
from verifiers.azure_storage import blob_service
from verifiers.cli import main
from verifiers.errors import SourceError
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sources import sha256_file
from verifiers.sources.azure_blob import AzureBlobs

pytestmark = pytest.mark.usefixtures("azurite")
PREFIX = "backups/saas/"


@pytest.fixture
def container(azurite: Azurite, request: pytest.FixtureRequest) -> Iterator[str]:  # noqa: F811
    name = "rp-" + request.node.name.lower().replace("_", "-")[:55].rstrip("-")
    service = blob_service(azurite.account_url)
    service.create_container(name)
    yield name
    service.delete_container(name)


def upload(azurite: Azurite, container: str, name: str, data: bytes) -> None:  # noqa: F811
    blob_service(azurite.account_url).get_blob_client(container, name).upload_blob(data, overwrite=True)


def postgres_store(azurite: Azurite, container: str) -> dict[str, object]:  # noqa: F811
    return {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
            "source": {"type": "azure-blob", "account_url": azurite.account_url, "container": container,
                       "prefix": PREFIX, "pattern": "saas-*.dump"}}


def run_inventory(tmp_path: Path, store: dict[str, object]) -> StoreOutcome:
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def source_of(tmp_path: Path, store: dict[str, object]) -> object:
    return parse_inventory({"stores": [store]}, tmp_path / "i.toml").stores[0].source


@pytest.mark.postgres
def test_backup_in_azure_restores_and_passes(azurite: Azurite, tmp_path: Path, container: str,  # noqa: F811
                                             demo_capture: Capture) -> None:
    upload(azurite, container, PREFIX + demo_capture.dump.name, demo_capture.dump.read_bytes())
    upload(azurite, container, PREFIX + demo_capture.manifest.name, demo_capture.manifest.read_bytes())
    outcome = run_inventory(tmp_path, postgres_store(azurite, container))
    assert outcome.status == "passed", failed(outcome)
    artifact = outcome.as_evidence()["artifact"]
    assert artifact["path"] == f"{azurite.account_url}/{container}/{PREFIX}{demo_capture.dump.name}"
    assert artifact["sha256"] == sha256_file(demo_capture.dump)
    assert artifact["azure_checksum"] == "MD5 matches the blob's Content-MD5"


def test_newest_blob_wins_and_a_missing_one_is_a_clear_error(azurite: Azurite, tmp_path: Path,  # noqa: F811
                                                              container: str) -> None:
    store = postgres_store(azurite, container)
    plan = plan_store(parse_inventory({"stores": [store]}, tmp_path / "i.toml").stores[0], tmp_path)
    assert isinstance(plan, PlanFailure)
    assert f"no blob in {azurite.account_url}/{container}/{PREFIX} matches 'saas-*.dump'" in plan.message
    for name in ("saas-20250101.dump", "saas-20250102.dump", "saas-20250102.manifest.json", "other.dump"):
        upload(azurite, container, PREFIX + name, name.encode())
    located = AzureBlobs().locate(source_of(tmp_path, store), base_dir=tmp_path, store="saas")  # type: ignore[arg-type]
    assert located.location.endswith(f"/{container}/{PREFIX}saas-20250102.dump")
    assert located.manifest_path is not None and located.manifest_path.read_bytes() == b"saas-20250102.manifest.json"
    blob_service(azurite.account_url).get_blob_client(container, PREFIX + "saas-20250102.manifest.json").delete_blob()
    with pytest.raises(SourceError, match=r"cannot read manifest .*saas-20250102.manifest.json: not found"):
        AzureBlobs().locate(source_of(tmp_path, store), base_dir=tmp_path, store="saas")  # type: ignore[arg-type]


def test_blob_that_does_not_match_its_content_md5_fails(azurite: Azurite, tmp_path: Path,  # noqa: F811
                                                        container: str) -> None:
    upload(azurite, container, PREFIX + "saas-1.dump", b"the backup" * 1000)
    upload(azurite, container, PREFIX + "saas-1.manifest.json", b"{}")
    wrong = bytearray(hashlib.md5(b"another backup", usedforsecurity=False).digest())
    blob_service(azurite.account_url).get_blob_client(container, PREFIX + "saas-1.dump").set_http_headers(
        content_settings=ContentSettings(content_md5=wrong))
    located = AzureBlobs().locate(source_of(tmp_path, postgres_store(azurite, container)),  # type: ignore[arg-type]
                                  base_dir=tmp_path, store="saas")
    with pytest.raises(SourceError, match=rf"store saas: .*/{PREFIX}saas-1.dump MISMATCH: MD5 .* Content-MD5 says "
                       + re.escape(base64.b64encode(wrong).decode())):
        AzureBlobs().fetch(located, store="saas", work_dir=tmp_path / "work")
    assert list((tmp_path / "work" / "download").iterdir()) == []


def test_wrong_account_key_is_refused_and_named(azurite: Azurite, tmp_path: Path, container: str,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       azurite.connection_string(key=base64.b64encode(b"not the account key").decode()))
    plan = plan_store(parse_inventory({"stores": [postgres_store(azurite, container)]},
                                      tmp_path / "i.toml").stores[0], tmp_path)
    assert isinstance(plan, PlanFailure)
    assert "store saas: cannot list" in plan.message and "access denied (AuthorizationFailure)" in plan.message
    assert "AZURE_STORAGE_CONNECTION_STRING" in plan.message
    assert "not the account key" not in plan.message


def test_connection_string_for_another_account_is_refused(azurite: Azurite, tmp_path: Path,  # noqa: F811
                                                          container: str) -> None:
    store = postgres_store(azurite, container)
    store["source"] = {**store["source"], "account_url": "https://prodbackups.blob.core.windows.net"}  # type: ignore[dict-item]
    plan = plan_store(parse_inventory({"stores": [store]}, tmp_path / "i.toml").stores[0], tmp_path)
    assert isinstance(plan, PlanFailure)
    assert f"is for {azurite.account_url}, not https://prodbackups.blob.core.windows.net" in plan.message


def container_store(azurite: Azurite, container: str, manifest: Path, **settings: object) -> dict[str, object]:  # noqa: F811
    return {"name": "assets", "kind": "azure-blob", "rto": "15m", "rpo": "30d", "sample": 2,
            "source": {"type": "azure-container", "account_url": azurite.account_url, "container": container,
                       "prefix": "assets/", "manifest": str(manifest)}, **settings}


def test_container_matches_its_manifest_then_differences_and_exposure_are_named(
        azurite: Azurite, tmp_path: Path, container: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    service = blob_service(azurite.account_url)
    for i in range(4):
        upload(azurite, container, f"assets/file-{i}.bin", f"content {i}".encode())
    manifest = tmp_path / "assets.manifest.json"
    assert main(["capture", "azure-blob", "--account-url", azurite.account_url, "--container", container,
                 "--prefix", "assets/", "--out", str(manifest)]) == 0
    assert json.loads(manifest.read_text())["kind"] == "azure-blob"
    service.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=True, days=14))
    try:
        outcome = run_inventory(tmp_path, container_store(azurite, container, manifest))
        assert outcome.status == "passed", failed(outcome)
        versioning = next(c for c in outcome.checks if c.subject == "versioning")
        assert versioning.observed == "blob soft delete 14 days"

        service.get_blob_client(container, "assets/file-0.bin").delete_blob()
        upload(azurite, container, "assets/file-1.bin", b"content X")
        upload(azurite, container, "assets/new.bin", b"new")
        service.get_container_client(container).set_container_access_policy(signed_identifiers={},
                                                                             public_access="blob")
    finally:
        service.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=False))
    outcome = run_inventory(tmp_path, container_store(azurite, container, manifest,
                                                      protection={"kms_key": "backups-cmek"}))
    problems = failed(outcome)
    assert set(problems) == {"objects:missing", "objects:changed", "objects:extra", "protection:versioning",
                             "protection:encryption", "protection:public_access"}
    assert "assets/file-0.bin" in problems["objects:missing"]
    assert "assets/file-1.bin" in problems["objects:changed"]
    assert "assets/new.bin" in problems["objects:extra"]
    assert "anonymous access blob" in problems["protection:public_access"]
    assert "not encryption scope backups-cmek" in problems["protection:encryption"]
    assert "content" not in json.dumps(outcome.as_evidence())


def test_capture_with_a_refused_key_exits_non_zero_without_a_manifest(
        azurite: Azurite, tmp_path: Path, container: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       azurite.connection_string(key=base64.b64encode(b"wrong").decode()))
    out = tmp_path / "m.json"
    assert main(["capture", "azure-blob", "--account-url", azurite.account_url, "--container", container,
                 "--out", str(out)]) != 0
    assert "access denied" in capsys.readouterr().err
    assert not out.exists()
