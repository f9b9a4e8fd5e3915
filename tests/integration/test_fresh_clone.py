"""The README's first command on the path a new user takes: a fresh clone in a private (0700) directory, as
whoever runs the tests (root in CI), `make demo` with nothing but pip. It installs its own virtualenv, so it
is slow (about a minute here): marked `slow`, run by .ci/run, left out of `make test`'s fast default."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import sandbox_dirs, sandbox_processes

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_make_demo_passes_in_a_fresh_clone_in_a_private_directory() -> None:
    before, running = set(sandbox_dirs()), set(sandbox_processes())  # the session's own sources may run
    private = Path(tempfile.mkdtemp(prefix="rp-fresh-clone-"))
    try:
        private.chmod(0o700)
        clone = private / "restoreproof"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTOREPROOF_", "VIRTUAL_ENV", "PYTEST"))}
        result = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True,
                                timeout=1500, check=False)
        output = result.stdout[-4000:] + result.stderr[-4000:]
        assert result.returncode == 0, output
        assert "not found" not in result.stderr, output
        assert "PASSED" in result.stdout and "stores:" in result.stdout and "failed" not in result.stdout.split(
            "stores:")[-1].splitlines()[0], output
        if "no Python >= 3.13 found" in result.stdout:  # make says so, and the demo leaves its Mongo store out
            assert "skipped the Mongo demo store (catalog)" in result.stderr, output
        else:  # mongoeco installed into the clone's .cache and the catalog store restored into it (as root: staged)
            assert "mongo store `catalog`: captured from mongoeco " in result.stdout, output
            assert re.search(r"^catalog +mongo +PASSED", result.stdout, re.MULTILINE), output
        assert private.stat().st_mode & 0o777 == 0o700  # nothing loosened the user's own directory
    finally:
        shutil.rmtree(private, ignore_errors=True)
    assert set(sandbox_processes()) - running == set()
    assert set(sandbox_dirs()) - before == set()
