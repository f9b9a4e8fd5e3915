"""`pytest -n 2 suites/...` (pytest-xdist): stores spread over workers, evidence written once by the controller
and the same as a run without xdist; under load (ten stores, twice in a row) verdicts do not change and
nothing is left running."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Capture
from tests.redis_support import RedisCapture
from verifiers.plugin.session import store_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.usefixtures("no_leftovers", "no_redis_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMING_CHECKS = {"rto", "rpo"}  # observed values are durations: they differ from run to run

# Ten stores: three PostgreSQL, seven Redis; one of each kind must fail (an impossible assertion, a cut RDB).
PG_STORES = ("pg-a", "pg-b", "pg-bad")
REDIS_STORES = ("kv-a", "kv-b", "kv-c", "kv-d", "kv-e", "kv-f", "kv-cut")


def pg_store(name: str) -> str:
    impossible = ('\n[[stores.assertions]]\nname = "impossible"\nsql = "SELECT count(*) FROM public.users"\n'
                  "expect = 1\n") if name == "pg-bad" else ""
    return (f'[[stores]]\nname = "{name}"\nkind = "postgres"\nsuite = "rds"\nrto = "15m"\nrpo = "30d"\n'
            f'[stores.source]\ntype = "file"\npath = "backups/{name}/saas-*.dump"\n{impossible}\n')


def redis_store(name: str) -> str:
    return (f'[[stores]]\nname = "{name}"\nkind = "redis"\nsuite = "redis"\nrto = "5m"\nrpo = "30d"\n'
            f'keys = [{{ pattern = "session:*", min = 1 }}]\n'
            f'[stores.source]\ntype = "file"\npath = "backups/{name}/cache-*.rdb"\n\n')


@pytest.fixture
def project(tmp_path: Path, demo_capture: Capture, redis_capture: RedisCapture) -> Path:
    for names, files in ((PG_STORES, (demo_capture.dump, demo_capture.manifest)),
                         (REDIS_STORES, (redis_capture.rdb, redis_capture.manifest))):
        for name in names:
            target = tmp_path / "backups" / name
            target.mkdir(parents=True)
            for path in files:
                shutil.copyfile(path, target / path.name)
    rdb = next((tmp_path / "backups" / "kv-cut").glob("*.rdb"))
    rdb.write_bytes(rdb.read_bytes()[:2000])
    inventory = "".join(pg_store(n) for n in PG_STORES) + "".join(redis_store(n) for n in REDIS_STORES)
    (tmp_path / "inventory.toml").write_text(inventory)
    return tmp_path


def run_suites(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "rds"), str(ROOT / "suites" / "redis"),
                           "--inventory", "inventory.toml", "--reports-dir", "reports", "-p", "no:cacheprovider",
                           *args],
                          cwd=project, capture_output=True, text=True, timeout=600, check=False)


def runs(project: Path) -> list[Path]:
    return sorted((project / "reports").glob("*/*/"), key=lambda p: json.loads(
        (p / "evidence.json").read_text())["run"]["started"])


def verdicts(run_dir: Path) -> list[dict[str, Any]]:
    """What must not depend on how the run was spread over processes: every store, in order, with its status,
    error phase, artifact and every check's verdict and values (durations aside)."""
    record = json.loads((run_dir / "evidence.json").read_text())
    return [{
        "name": s["name"], "suite": s["suite"], "status": s["status"],
        "error": s["error"] and s["error"]["phase"],
        "artifact": s["artifact"] and s["artifact"]["sha256"],
        "engine": s["sandbox"] and s["sandbox"]["engine"],
        "checks": [(c["check"], c["subject"], c["passed"],
                    None if c["check"] in TIMING_CHECKS else json.dumps([c["observed"], c["expected"]]))
                   for c in s["checks"]],
    } for s in record["stores"]]


def workers_by_store(stdout: str) -> dict[str, set[str]]:
    """From `-v` output lines such as `[gw1] [ 40%] PASSED suites/...::test_restore[kv-a:...]`."""
    found: dict[str, set[str]] = {}
    for line in stdout.splitlines():
        match = re.match(r"\[(gw\d+)\] \[ *\d+%\] \w+ (\S+)", line)
        store = store_of(match.group(2)) if match else None
        if match and store:
            found.setdefault(store, set()).add(match.group(1))
    return found


def junit_cases(run_dir: Path) -> list[tuple[str, str]]:
    root = ET.parse(run_dir / "junit.xml").getroot()
    cases = [(c.get("name") or "", "failed" if c.find("failure") is not None else "passed")
             for c in root.iter("testcase")]
    return sorted(cases)


def processes_in(directory: Path) -> list[str]:
    """Live processes started from the project directory (pytest, its xdist workers, sandbox servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(directory)):
            found.append(f"{entry.name} in {cwd}")
    return found


def test_ten_stores_with_two_workers_match_a_serial_run_twice(project: Path) -> None:
    serial = run_suites(project, "-n", "0")
    first = run_suites(project, "-n", "2", "-v")
    second = run_suites(project, "-n", "2", "-v")
    for result in (serial, first, second):
        assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    for result in (first, second):
        assert set(workers_by_store(result.stdout)) == {*PG_STORES, *REDIS_STORES}
        assert set().union(*workers_by_store(result.stdout).values()) == {
            "gw0", "gw1"}  # really spread over both workers
        assert all(len(workers) == 1 for workers in workers_by_store(result.stdout).values())  # one restore each
    serial_dir, first_dir, second_dir = runs(project)
    expected = verdicts(serial_dir)
    assert [s["name"] for s in expected] == [*PG_STORES, *REDIS_STORES]
    assert {s["name"]: s["status"] for s in expected if s["status"] != "passed"} == {"pg-bad": "failed",
                                                                                      "kv-cut": "failed"}
    assert verdicts(first_dir) == expected
    assert verdicts(second_dir) == expected
    assert junit_cases(first_dir) == junit_cases(serial_dir) == junit_cases(second_dir)
    for run_dir in (serial_dir, first_dir, second_dir):
        # One writer per run: the controller's files only, each written once and sealed.
        assert sorted(p.name for p in run_dir.iterdir()) == ["SHA256SUMS", "evidence.json", "junit.xml",
                                                             "report.html"]
        html = (run_dir / "report.html").read_text()
        assert all(name in html for name in (*PG_STORES, *REDIS_STORES))
    for result in (first, second):  # one summary, by the controller (a worker's output would not show)
        assert result.stdout.count("= restoreproof =") == 1
    chain = subprocess.run([str(BIN / "restoreproof"), "evidence", "verify", "reports"], cwd=project,
                           capture_output=True, text=True, timeout=120, check=False)
    assert chain.returncode == 0, chain.stdout + chain.stderr
    assert processes_in(project) == []
