"""Ctrl-C (SIGINT) and SIGTERM in each phase of a real run (`pytest suites/<suite>` / `restoreproof verify` in
a subprocess, as users and CI run it): the run stops, the evidence records the store as `error` with the phase
it was in, and afterwards no process of the harness's process group, no sandbox process and no sandbox
directory remains."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import Capture, sandbox_dirs, sandbox_processes
from tests.faults import slow
from tests.mysql_support import MysqlCapture
from tests.redis_support import RedisCapture
from verifiers.sandboxes.process import group_alive
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import SOCKET_NAME

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"


@dataclass
class Scenario:
    """A project whose run will sit in one phase, and how to tell from outside that it got there."""

    suite: str
    store: str
    inventory: str
    arrived: Callable[[], bool]
    cleanup: Callable[[], None] = lambda: None
    plugin: str | None = None  # a pytest plugin the run loads (PYTEST_PLUGINS), to hold it in a phase


def store_toml(name: str, kind: str, path: str, extra: str = "") -> str:
    return (f'[[stores]]\nname = "{name}"\nkind = "{kind}"\nrto = "15m"\nrpo = "3650d"\n{extra}\n'
            f'[stores.source]\ntype = "file"\npath = "{path}"\n')


def pg_query_running(text: str) -> bool:
    """Whether a sandbox PostgreSQL (found by its private socket dir) is running a query containing `text`."""
    for socket in Path(tempfile.gettempdir()).glob("restoreproof-pg-*/run/.s.PGSQL.*[0-9]"):
        try:
            with psycopg.connect(host=str(socket.parent), port=socket.suffix.lstrip("."), user="postgres",
                                 dbname="postgres", connect_timeout=2) as conn:
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s",
                                   (f"%{text}%",)).fetchone()
        except psycopg.OperationalError:
            continue
        if row and row[0]:
            return True
    return False


def sandbox_process_running(*words: str) -> bool:
    return any(all(w in p for w in words) for p in sandbox_processes())


def mysql_query_running(text: str) -> bool:
    for option_file in Path(tempfile.gettempdir()).glob("restoreproof-mysql-*/client.cnf"):
        result = subprocess.run(["mariadb", f"--defaults-file={option_file}", "-N", "-e",
                                 "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep' "  # noqa: S608
                                 f"AND INFO LIKE '%{text}%'"],
                                capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip() not in ("", "0"):
            return True
    return False


def pg_fetch(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: Capture = request.getfixturevalue("demo_capture")
    fifo = slow.fifo_backup(tmp / "backups", "saas-20991231T000000Z.dump", capture.manifest)
    held: list[int] = []

    def arrived() -> bool:
        fd = slow.writer_when_read(fifo)
        if fd is not None:
            held.append(fd)  # kept open (and silent): the harness now blocks in read()
        return fd is not None

    def cleanup() -> None:
        for fd in held:
            os.close(fd)

    return Scenario("rds", "saas", store_toml("saas", "postgres", "backups/saas-*.dump"), arrived, cleanup)


def pg_restore(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: Capture = request.getfixturevalue("demo_capture")
    slow.slow_postgres_dump(tmp / "backups", capture.manifest)
    return Scenario("rds", "saas", store_toml("saas", "postgres", "backups/saas-*.sql"),
                    lambda: pg_query_running(f"pg_sleep({slow.SLEEP_SECONDS})"))


def redis_restore(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: RedisCapture = request.getfixturevalue("redis_capture")
    server: RedisInstallation = request.getfixturevalue("system_redis")
    for path in (capture.rdb, capture.manifest):
        (tmp / "backups" / path.name).write_bytes(path.read_bytes())
    bin_dir = slow.hanging_redis_bin_dir(server.server)
    return Scenario("redis", "cache", store_toml("cache", "redis", "backups/cache-*.rdb",
                                                 f'sandbox = {{ type = "local", bin_dir = "{bin_dir}" }}'),
                    lambda: sandbox_process_running("sleep"), lambda: shutil.rmtree(bin_dir))


def mysql_restore(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: MysqlCapture = request.getfixturevalue("mysql_capture")
    slow.slow_mysql_dump(tmp / "backups", capture.dump, capture.manifest)
    return Scenario("mysql", "shop", store_toml("shop", "mysql", "backups/shop-*.sql"),
                    lambda: mysql_query_running(f"SELECT SLEEP({slow.SLEEP_SECONDS})"))


def mysql_verify(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: MysqlCapture = request.getfixturevalue("mysql_capture")
    for path in (capture.dump, capture.manifest):
        (tmp / "backups" / path.name).write_bytes(path.read_bytes())
    assertion = (f'[[stores.assertions]]\nname = "slow"\nsql = "SELECT SLEEP({slow.SLEEP_SECONDS})"\nexpect = 0\n')
    return Scenario("mysql", "shop", store_toml("shop", "mysql", "backups/shop-*.sql.gz") + assertion,
                    lambda: mysql_query_running(f"SELECT SLEEP({slow.SLEEP_SECONDS})"))


def redis_blocked() -> bool:
    """Whether a sandbox Redis (found by its private socket) has a client blocked: the measurement held by
    tests/faults/hold_redis_verify.py (not imported here: it patches the harness of the process loading it)."""
    for socket in Path(tempfile.gettempdir()).glob(f"restoreproof-redis-*/{SOCKET_NAME}"):
        try:
            client = redis.Redis(unix_socket_path=str(socket), socket_timeout=2)
            with contextlib.closing(client):
                if client.info("clients").get("blocked_clients", 0) >= 1:
                    return True
        except redis.RedisError:
            continue
    return False


def redis_verify(tmp: Path, request: pytest.FixtureRequest) -> Scenario:
    capture: RedisCapture = request.getfixturevalue("redis_capture")
    for path in (capture.rdb, capture.manifest):
        (tmp / "backups" / path.name).write_bytes(path.read_bytes())
    return Scenario("redis", "cache", store_toml("cache", "redis", "backups/cache-*.rdb"),
                    redis_blocked, plugin="tests.faults.hold_redis_verify")


SCENARIOS: dict[str, Callable[[Path, pytest.FixtureRequest], Scenario]] = {
    "postgres-fetch": pg_fetch, "postgres-restore": pg_restore, "redis-restore": redis_restore,
    "redis-verify": redis_verify, "mysql-restore": mysql_restore, "mysql-verify": mysql_verify,
}


def kill_new_sandboxes(before: set[str]) -> None:
    for entry in set(sandbox_processes()) - before:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(int(entry.split(":")[0])), signal.SIGKILL)


def start(project: Path, scenario: Scenario, *, cli: bool) -> subprocess.Popen[bytes]:
    argv = ([str(BIN / "restoreproof"), "verify", "--suite", scenario.suite] if cli else
            [str(BIN / "pytest"), str(ROOT / "suites" / scenario.suite), "-p", "no:cacheprovider"])
    argv += ["--inventory", "inventory.toml", "--reports-dir", "reports"]
    # `restoreproof verify` runs pytest in process: the plugins load either way. dump_on_usr1 lets a run that does
    # not stop be asked where it is (stuck_run).
    plugins = ",".join(filter(None, ["tests.faults.dump_on_usr1", scenario.plugin]))
    env = {**os.environ, "PYTEST_PLUGINS": plugins,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with (project / "output.txt").open("wb") as out:
        # its own session: the harness's process group is exactly what it starts without a group of its own
        return subprocess.Popen(argv, cwd=project, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)


def wait_stopped(proc: subprocess.Popen[bytes], project: Path, sig: signal.Signals, timeout: float = 120) -> None:
    """Wait for the run to exit; one that does not is asked for its threads' stacks (SIGUSR1), which the failure
    shows with the tail of its output."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(2)
        output = (project / "output.txt").read_text(errors="replace")[-8000:]
        pytest.fail(f"the run was still running {timeout:g}s after {sig.name}; its stacks and output:\n{output}\n"
                    f"sandbox processes: {sandbox_processes()}")


def wait_until(arrived: Callable[[], bool], proc: subprocess.Popen[bytes], project: Path) -> None:
    deadline = time.monotonic() + 120
    while not arrived():
        assert proc.poll() is None, (project / "output.txt").read_text()[-3000:]
        output = (project / "output.txt").read_text()[-3000:]
        assert time.monotonic() < deadline, f"the run never reached the phase\n{output}\n{sandbox_processes()}"
        time.sleep(0.05)


@pytest.mark.parametrize(("where", "sig", "cli"), [
    ("postgres-fetch", signal.SIGINT, False),
    ("postgres-fetch", signal.SIGTERM, True),
    ("postgres-restore", signal.SIGINT, False),
    ("postgres-restore", signal.SIGTERM, False),
    ("redis-restore", signal.SIGINT, False),
    ("redis-restore", signal.SIGTERM, True),
    ("redis-verify", signal.SIGINT, False),
    ("redis-verify", signal.SIGTERM, True),
    ("mysql-restore", signal.SIGINT, True),
    ("mysql-restore", signal.SIGTERM, False),
    ("mysql-verify", signal.SIGINT, True),
    ("mysql-verify", signal.SIGTERM, False),
])
def test_signal_stops_the_run_and_leaves_nothing(tmp_path: Path, request: pytest.FixtureRequest, where: str,
                                                 sig: signal.Signals, cli: bool) -> None:
    (tmp_path / "backups").mkdir()
    scenario = SCENARIOS[where](tmp_path, request)
    (tmp_path / "inventory.toml").write_text(scenario.inventory)
    # the test session's own servers (the "production" sources) may stay; nothing the run starts may
    processes, dirs = set(sandbox_processes()), set(sandbox_dirs())
    proc = start(tmp_path, scenario, cli=cli)
    try:
        wait_until(scenario.arrived, proc, tmp_path)
        os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C or a CI runner's cancel: the whole group
        wait_stopped(proc, tmp_path, sig)
    finally:
        scenario.cleanup()
        if proc.poll() is None:  # the test failed: do not let its sandboxes outlive it
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kill_new_sandboxes(processes)
    output = (tmp_path / "output.txt").read_text()
    assert proc.returncode == (130 if cli else 2), output[-3000:]  # restoreproof's / pytest's "interrupted"
    assert "Traceback" not in output
    assert not group_alive(proc.pid), "a process of the harness's process group outlived it"
    assert set(sandbox_processes()) - processes == set()
    assert set(sandbox_dirs()) - dirs == set()
    (evidence,) = (tmp_path / "reports").glob("*/*/evidence.json")
    (store,) = json.loads(evidence.read_text())["stores"]
    assert store["name"] == scenario.store and store["status"] == "error"
    assert store["error"] == {"phase": where.split("-")[1], "message": INTERRUPTED}


def cpu_load(seconds: float) -> list[subprocess.Popen[bytes]]:
    """Busy loops on every core and one more, each ending by itself after `seconds` (bounded, local only)."""
    loop = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
    return [subprocess.Popen([sys.executable, "-c", loop]) for _ in range((os.cpu_count() or 1) + 1)]


@pytest.mark.parametrize("where", ["postgres-restore", "redis-verify", "mysql-verify"])
def test_sigterm_under_cpu_load_exits_only_after_its_servers_have(tmp_path: Path, request: pytest.FixtureRequest,
                                                                  where: str) -> None:
    """On a busy machine a server's processes take a while to die after SIGKILL: the run must wait for every
    process of each sandbox's group before it exits, so the moment it has exited nothing of it is alive."""
    (tmp_path / "backups").mkdir()
    scenario = SCENARIOS[where](tmp_path, request)
    (tmp_path / "inventory.toml").write_text(scenario.inventory)
    processes, dirs = set(sandbox_processes()), set(sandbox_dirs())
    proc = start(tmp_path, scenario, cli=True)
    load: list[subprocess.Popen[bytes]] = []
    try:
        wait_until(scenario.arrived, proc, tmp_path)
        load = cpu_load(90)
        time.sleep(0.5)  # the load is running before the signal
        os.killpg(proc.pid, signal.SIGTERM)
        wait_stopped(proc, tmp_path, signal.SIGTERM)
        left = set(sandbox_processes()) - processes  # read at once: no grace period
    finally:
        for busy in load:
            busy.kill()
            busy.wait()
        scenario.cleanup()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_new_sandboxes(processes)
    output = (tmp_path / "output.txt").read_text()
    assert proc.returncode == 130, output[-3000:]
    assert left == set(), f"alive after the run exited: {left}"
    assert set(sandbox_dirs()) - dirs == set()
