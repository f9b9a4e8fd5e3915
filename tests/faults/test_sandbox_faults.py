"""Faults inside a run, in process: the restore exceeding restore_timeout, the sandbox server killed while it
is being measured, and the work dir's disk filling up. Each ends in a judged failure or an `error` in the phase
it happened in, with a message saying why, and no sandbox process, client or directory is left."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import Capture
from tests.conftest import verify as pg_verify
from tests.faults import slow
from tests.mysql_support import MysqlCapture, mysql_verify
from tests.redis_support import RedisCapture, redis_verify
from verifiers.runner import StoreOutcome
from verifiers.stores.mysql import measure as mysql_measure
from verifiers.stores.redis import local_server as local_redis
from verifiers.stores.redis import measure as redis_measure


def processes_naming(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture
def nothing_left(tmp_path: Path, no_leftovers: None) -> Iterator[None]:
    """No sandbox process or dir (conftest's no_leftovers), and no client still reading a backup of this test
    (psql names its dump file on its command line, not the sandbox)."""
    yield
    assert processes_naming(str(tmp_path)) == []


def summary(outcome: StoreOutcome) -> str:
    """What a failed assertion on an outcome shows: its status, error and each check's verdict and message."""
    checks = "; ".join(f"{c.check} {'ok' if c.passed else 'FAILED'}: {c.message[:300]}" for c in outcome.checks)
    return f"{outcome.status}, error {outcome.error}, checks: {checks}"


def copy_backup(directory: Path, *paths: Path) -> None:
    for path in paths:
        shutil.copy2(path, directory / path.name)


# ---------------------------------------------------------------- the restore exceeding restore_timeout

@pytest.mark.usefixtures("nothing_left")
@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_restore_exceeding_its_timeout_is_an_error_in_restore_and_stops_the_client(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """(Redis: tests/integration/test_redis_verify.py::test_restore_timeout_is_an_error_in_restore.)"""
    if kind == "postgres":
        capture: Capture = request.getfixturevalue("demo_capture")
        dump = slow.slow_postgres_dump(tmp_path, capture.manifest)
        run: Callable[..., StoreOutcome] = pg_verify
    else:
        mysql: MysqlCapture = request.getfixturevalue("mysql_capture")
        dump = slow.slow_mysql_dump(tmp_path, mysql.dump, mysql.manifest)
        run = mysql_verify
    started = time.monotonic()
    outcome = run(tmp_path, dump.name, restore_timeout="1s")
    assert time.monotonic() - started < 60  # not the dump's 120 s sleep
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert f"did not finish restoring {dump.name} within restore_timeout (1s)" in outcome.error["message"]
    assert f"raise restore_timeout for store {outcome.store.name} in the inventory" in outcome.error["message"]
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert not restore.passed and restore.observed == "timed out"
    assert f"did not finish {dump.name} within restore_timeout (1s)" in restore.message
    assert "teardown" in outcome.timer.seconds


@pytest.mark.usefixtures("nothing_left")
def test_redis_server_still_loading_at_the_timeout_is_an_error_in_restore(rdb_dir: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The RDB passes check-rdb, but the server never reports it loaded (`loading:0`) within restore_timeout:
    the loading server is stopped and the store is an `error` in restore."""
    monkeypatch.setattr(local_redis, "_probe", lambda socket, loading=None: False)  # forever loading
    outcome = redis_verify(rdb_dir, "cache-*.rdb", restore_timeout="1s")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert "did not finish restoring cache-" in outcome.error["message"]
    assert "raise restore_timeout for store cache in the inventory" in outcome.error["message"]
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert not restore.passed and "was still loading the RDB after 1s (restore_timeout)" in restore.message
    assert "teardown" in outcome.timer.seconds


# ---------------------------------------------------------------- the sandbox server killed mid-verify

def kill_and_wait(pid: int, gone: Callable[[], bool]) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.02)


def redis_gone(client_for: Callable[..., redis.Redis]) -> bool:
    try:
        client_for().ping()
    except redis.ConnectionError:
        return True
    return False


@pytest.mark.usefixtures("nothing_left")
def test_redis_server_killed_mid_verify_is_an_error_in_verify(rdb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL the sandbox server as the measurement starts (in the verify phase, for sure: not by timing)."""
    measure = redis_measure.measure_dataset

    def killed_first(client_for: Callable[..., redis.Redis]) -> Any:
        kill_and_wait(int(client_for().info("server")["process_id"]), lambda: redis_gone(client_for))
        return measure(client_for)

    monkeypatch.setattr("verifiers.stores.redis.kind.measure_dataset", killed_first)  # as the kind calls it
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "verify"
    assert outcome.error["message"].startswith("store cache: lost the sandbox server while verifying")
    assert "teardown" in outcome.timer.seconds


@pytest.mark.usefixtures("nothing_left")
def test_mysql_server_killed_mid_verify_is_an_error_in_verify(mysql_backup_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    measure = mysql_measure.measure_database

    def killed_first(cur: Any, database: str, **options: Any) -> Any:
        cur.execute("SELECT @@pid_file")
        pid = int(Path(cur.fetchone()[0]).read_text().strip())
        kill_and_wait(pid, lambda: not Path(f"/proc/{pid}/exe").exists())
        return measure(cur, database, **options)

    monkeypatch.setattr("verifiers.stores.mysql.compare.measure_database", killed_first)
    outcome = mysql_verify(mysql_backup_dir, "shop-*.sql.gz")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "verify"
    assert outcome.error["message"].startswith("store shop: lost the sandbox server while verifying")
    assert "teardown" in outcome.timer.seconds


# ---------------------------------------------------------------- the work dir's disk full

@pytest.fixture
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs (size from the test's parameter) for the work dir of runs and sandboxes (see `temp_dir_on`);
    mounting needs root with CAP_SYS_ADMIN, which this project's CI gives `.ci/run` with a --privileged
    container (.github/workflows/ci.yml); without it the test fails, saying so, it is never skipped. After
    `tmp_path`, which must not land on it."""
    mount = Path(tempfile.mkdtemp(prefix="rp-small-disk-"))
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={request.param},mode=0755", "tmpfs", str(mount)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        mount.rmdir()
        pytest.fail(f"cannot mount a small tmpfs to fill up (needs root with CAP_SYS_ADMIN): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        left = sorted(p.name for p in mount.iterdir())
        subprocess.run(["umount", "-l", str(mount)], check=True)
        mount.rmdir()
    assert left == [], "the run left files in its work dir"


@contextmanager
def temp_dir_on(mount: Path) -> Iterator[None]:
    """The temp dir (the work dir of runs and sandboxes) on `mount` for the run alone: the session's captures,
    fetched first, must not be made there (a source server filling the small disk fails the fixture, not the
    run under test)."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(mount)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def backup_to_verify(kind: str, directory: Path, request: pytest.FixtureRequest) -> tuple[Callable[..., StoreOutcome],
                                                                                            str]:
    """A copy of the kind's session capture in `directory`, with the function that verifies it and its glob."""
    if kind == "postgres":
        capture: Any = request.getfixturevalue("demo_capture")
        copy_backup(directory, capture.dump, capture.manifest)
        return pg_verify, "saas-*.dump"
    if kind == "mysql":
        capture = request.getfixturevalue("mysql_capture")
        copy_backup(directory, capture.dump, capture.manifest)
        return mysql_verify, "shop-*.sql.gz"
    redis_capture: RedisCapture = request.getfixturevalue("redis_capture")
    copy_backup(directory, redis_capture.rdb, redis_capture.manifest)
    return redis_verify, "cache-*.rdb"


def assert_disk_full_error(outcome: StoreOutcome, small_disk: Path, phases: set[str]) -> None:
    assert outcome.status == "error" and outcome.error is not None, summary(outcome)
    assert outcome.error["phase"] in phases, outcome.error
    assert f"out of disk space in the work dir {small_disk} (a " in outcome.error["message"]
    assert processes_naming(str(small_disk)) == []


# A size each kind outgrows before its restore: MariaDB while creating its data directory, Redis while copying
# the RDB into its sandbox. (PostgreSQL's empty cluster and the demo restored on it differ by a few MB only, too
# close for a size to land between them every time: the test below fills its disk as the restore starts.)
@pytest.mark.parametrize(("kind", "small_disk", "phases"), [
    ("mysql", "24m", {"provision", "restore"}),
    ("redis", "64k", {"provision"}),
], indirect=["small_disk"])
def test_disk_full_in_the_work_dir_is_an_error_naming_disk_space(kind: str, small_disk: Path, phases: set[str],
                                                                 tmp_path: Path,
                                                                 request: pytest.FixtureRequest) -> None:
    run, pattern = backup_to_verify(kind, tmp_path, request)
    with temp_dir_on(small_disk):
        outcome = run(tmp_path, pattern)
    assert_disk_full_error(outcome, small_disk, phases)


# However little is left, the disk-full shows up differently: nothing left (pg_restore cannot even write its
# messages; PostgreSQL cannot write its relcache init file, "could not write init file", not saying why), a little
# (a new WAL segment or a data file cannot be extended: "No space left on device"). Each is the same error.
@pytest.mark.parametrize("small_disk", ["200m"], indirect=True)
@pytest.mark.parametrize("left_kib", [0, 64, 512])
@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_disk_filling_up_during_the_restore_is_an_error_in_restore(kind: str, left_kib: int, small_disk: Path,
                                                                  tmp_path: Path, request: pytest.FixtureRequest,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox is up; as its restore starts, the rest of the disk is taken but `left_kib`."""
    run, pattern = backup_to_verify(kind, tmp_path, request)
    module = f"verifiers.stores.{kind}.kind"
    real_restore = importlib.import_module(module).restore_dump

    def restore_on_a_full_disk(*args: Any, **kwargs: Any) -> Any:
        ballast = small_disk / "ballast"
        with ballast.open("wb") as taken:
            taken.truncate(max(0, shutil.disk_usage(small_disk).free - left_kib * 1024))
            os.posix_fallocate(taken.fileno(), 0, max(1, os.fstat(taken.fileno()).st_size))
        try:
            return real_restore(*args, **kwargs)
        finally:
            ballast.unlink()

    monkeypatch.setattr(f"{module}.restore_dump", restore_on_a_full_disk)
    with temp_dir_on(small_disk):
        outcome = run(tmp_path, pattern)
    assert_disk_full_error(outcome, small_disk, {"restore"})
    restore = next(c for c in outcome.checks if c.check == "restore")
    assert not restore.passed and restore.message.count("\n") >= 1, restore.message  # the tool's lines, not none
