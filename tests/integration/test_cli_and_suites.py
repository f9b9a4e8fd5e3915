"""End to end, as users run it: `pytest suites/rds` and `restoreproof verify|inventory|capture` in a
subprocess, with real exit codes, real evidence files, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg
import pytest

from fixtures.saas_demo import MARKER
from tests.conftest import SOURCE_DB, Capture, sandbox_processes
from verifiers.stores.postgres.local_server import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def write_inventory(directory: Path, *extra_stores: str, assertions: str = "") -> Path:
    inventory = directory / "inventory.toml"
    inventory.write_text(f"""
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
[stores.source]
type = "file"
path = "backups/saas-*.dump"
{assertions}
{''.join(extra_stores)}
""")
    return inventory


@pytest.fixture
def project(tmp_path: Path, demo_capture: Capture) -> Path:
    backups = tmp_path / "backups"
    backups.mkdir()
    for path in (demo_capture.dump, demo_capture.manifest):
        (backups / path.name).write_bytes(path.read_bytes())
    write_inventory(tmp_path)
    return tmp_path


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def pytest_suite(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "pytest"), str(ROOT / "suites" / "rds"), "--inventory", "inventory.toml",
                "--reports-dir", "reports", "-p", "no:cacheprovider", *args], cwd=project)


def only_run_dir(project: Path) -> Path:
    runs = list((project / "reports").glob("*/*"))
    assert len(runs) == 1, runs
    return runs[0]


def test_suite_passes_and_writes_evidence(project: Path) -> None:
    result = pytest_suite(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert ["saas", "postgres", "PASSED"] in [line.split()[:3] for line in result.stdout.splitlines()]  # the table
    run_dir = only_run_dir(project)
    assert run_dir.parent.name == time.strftime("%Y-%m", time.gmtime())
    assert sorted(p.name for p in run_dir.iterdir()) == ["SHA256SUMS", "evidence.json", "junit.xml", "report.html"]
    evidence = json.loads((run_dir / "evidence.json").read_text())
    assert evidence["run"]["id"] == run_dir.name and evidence["run"]["status"] == "passed"
    assert set(evidence["run"]) == {"id", "started", "finished", "tool_version", "git_commit", "host", "status",
                                    "provenance"}
    assert evidence["run"]["provenance"]["inventory_sha256"] is not None  # where the run came from
    (store,) = evidence["stores"]
    assert store["status"] == "passed" and store["sandbox"]["type"] == "local"
    assert set(store["rto"]["phases"]) == {"fetch", "provision", "restore", "verify", "teardown"}
    assert store["rto"]["target_seconds"] == 900 and store["rpo"]["target_seconds"] == 2592000
    assert store["artifact"]["sha256"] and store["artifact"]["bytes"] > 0
    checks = {(c["check"], c["subject"]) for c in store["checks"]}
    assert ("checksum", "public.users") in checks and ("schema", "database") in checks
    junit = ET.parse(run_dir / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    assert len(cases) == len(store["checks"])
    props = {p.get("name"): p.get("value") for p in cases[0].findall("./properties/property")}
    assert {"store", "check", "subject", "rto_seconds", "rto_target_seconds", "rpo_seconds",
            "rpo_target_seconds"} <= set(props)


def test_failing_check_fails_the_run_and_names_it(project: Path) -> None:
    write_inventory(project, assertions="""
[[stores.assertions]]
name = "impossible"
sql = "SELECT count(*) FROM public.users"
expect = 1
""")
    result = pytest_suite(project)
    assert result.returncode == 1
    assert "saas: assertion impossible: returned 400, expected 1" in result.stdout
    evidence = json.loads((only_run_dir(project) / "evidence.json").read_text())
    assert evidence["stores"][0]["status"] == "failed" and evidence["run"]["status"] == "failed"


def test_row_contents_never_reach_reports(project: Path, demo_capture: Capture) -> None:
    """A changed row fails the checksum; the planted marker value appears in no report file."""
    dump = next((project / "backups").glob("*.dump"))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    result = pytest_suite(project)
    assert result.returncode == 1
    for path in only_run_dir(project).iterdir():
        assert MARKER not in path.read_text(errors="replace"), path
    assert MARKER not in result.stdout + result.stderr


def test_store_with_no_backup_is_one_clear_error(project: Path) -> None:
    for path in (project / "backups").iterdir():
        path.unlink()
    result = pytest_suite(project)
    assert result.returncode == 1
    assert "saas: error during fetch: store saas: no backup matches" in result.stdout
    assert "Traceback" not in result.stdout


def test_bad_inventory_is_one_line_and_exit_2(project: Path) -> None:
    (project / "inventory.toml").write_text('[[stores]]\nname = "x"\nkind = "postgres"\nrto = "soon"\n')
    cli = run([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml"], cwd=project)
    assert cli.returncode == 2
    assert cli.stderr.splitlines()[0].startswith(
        "restoreproof: error: inventory.toml: stores[0].rto: invalid duration 'soon'")
    assert "Traceback" not in cli.stderr
    suite = pytest_suite(project)
    assert suite.returncode == 4  # pytest's usage error
    assert "stores[0].rto: invalid duration 'soon'" in suite.stderr
    assert "Traceback" not in suite.stderr
    assert not (project / "reports").exists() or not list((project / "reports").glob("*/*/evidence.json"))


def test_cli_verify_and_inventory(project: Path) -> None:
    listing = run([str(BIN / "restoreproof"), "inventory"], cwd=project)
    assert listing.returncode == 0 and "saas (postgres, suite rds): " in listing.stdout
    verify = run([str(BIN / "restoreproof"), "verify", "--suite", "rds"], cwd=project)
    assert verify.returncode == 0, verify.stdout[-2000:]
    assert json.loads((only_run_dir(project) / "evidence.json").read_text())["run"]["status"] == "passed"
    nothing = run([str(BIN / "restoreproof"), "verify", "--suite", "redis-none"], cwd=project)
    assert nothing.returncode == 2 and "no store in inventory.toml matched --suite redis-none" in nothing.stderr


def test_cli_capture(source_server: PostgresServer, tmp_path: Path) -> None:
    result = run([str(BIN / "restoreproof"), "capture", "postgres", "--dsn", source_server.conninfo(SOURCE_DB),
                  "--out", str(tmp_path), "--name", "prod"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".dump", ".json"]
    bad = run([str(BIN / "restoreproof"), "capture", "postgres", "--dsn", "host=/nowhere password=pw1",
               "--out", str(tmp_path)], cwd=tmp_path)
    assert bad.returncode == 2 and "cannot connect" in bad.stderr and "pw1" not in bad.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_verification_tears_the_sandbox_down(project: Path, sig: signal.Signals,
                                                           source_server: PostgresServer) -> None:
    """A slow assertion keeps the sandbox busy; the signal must end the run with the sandbox gone and the
    store recorded as an error in the phase it was in."""
    write_inventory(project, assertions="""
[[stores.assertions]]
name = "slow"
sql = "SELECT 1 FROM pg_sleep(120)"
expect = 1
""")
    proc = subprocess.Popen([str(BIN / "pytest"), str(ROOT / "suites" / "rds"), "--inventory", "inventory.toml",
                             "--reports-dir", "reports", "-p", "no:cacheprovider"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        wait_for_query_in_a_sandbox("pg_sleep(120)", proc, exclude=source_server.workdir)
        os.kill(proc.pid, sig)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 2, output[-3000:]  # pytest's "interrupted"
    assert sandbox_processes(source_server.workdir) == []
    evidence = json.loads((only_run_dir(project) / "evidence.json").read_text())
    store = evidence["stores"][0]
    assert store["status"] == "error"
    assert store["error"] == {"phase": "verify", "message": "interrupted (Ctrl-C or SIGTERM)"}


def wait_for_query_in_a_sandbox(text: str, proc: subprocess.Popen[str], *, exclude: Path) -> None:
    """Until a sandbox server (found by its private socket dir) is running a query containing `text`."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s"
    while True:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        for socket in Path(tempfile.gettempdir()).glob("restoreproof-pg-*/run/.s.PGSQL.*"):
            if socket.parent.parent == exclude or socket.suffix == ".lock":
                continue
            try:
                with psycopg.connect(host=str(socket.parent), port=socket.suffix.lstrip("."), user="postgres",
                                     dbname="postgres", connect_timeout=2) as conn:
                    row = conn.execute(query, (f"%{text}%",)).fetchone()
            except psycopg.OperationalError:
                continue
            if row and row[0]:
                return
        time.sleep(0.05)
