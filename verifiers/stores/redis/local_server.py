"""A disposable local Redis/Valkey server started on a copy of an RDB: a private 0700 directory, a unix
socket only (`--port 0`), the persistence settings of its mode, its own process group, and a teardown that always
runs.

The server loads the RDB while starting, so "ready" means "loaded": INFO persistence answers even while
loading, and only a line that is exactly `loading:0` counts (`async_loading:0` is another field).
A server that dies on the way with an RDB in its log raises RdbLoadError: the backup is bad, not the sandbox.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from verifiers import progress
from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.process import RunAs, ServerProcess, run_as, unprivileged_user
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.user_access import private_workdir
from verifiers.stores.redis.installations import USER_FALLBACKS, RedisInstallation

WORKDIR_PREFIX = "restoreproof-redis-"
RDB_NAME = "dump.rdb"
SOCKET_NAME = "server.sock"
# More logical databases than any RDB we expect (the default 16 refuses an RDB that uses db 16+); each
# costs a few hundred bytes.
DATABASES = 1024
# Loading an RDB writes nothing, so no setting makes the load itself more or less durable: persistence decides what
# the server does with the dataset once loaded. AOF stays off in both modes, as it must: a server started with
# `appendonly yes` loads its AOF and ignores dump.rdb (it starts empty); a production server on AOF is switched over
# after the load (CONFIG SET appendonly yes, a rewrite of the whole dataset), which is not part of it.
# Fast: no save schedule either, so the loaded dataset is never written back and no background save competes with
# the measurement. Production-like: the server's own default schedule (`save 3600 1 300 100 60 10000` on Redis 7
# and Valkey), as a server restarted on its dump.rdb runs. The evidence records the settings read back (CONFIG GET).
FAST_SETTINGS = {"save": "", "appendonly": "no"}
MODE_SETTINGS = {"fast": FAST_SETTINGS, "production-like": {"appendonly": "no"}}
DEFAULT_READINESS = Readiness()
_LOADED = re.compile(r"^loading:0\r?$", re.M)
_LOADING_BYTES = re.compile(r"^loading_(loaded|total)_bytes:(\d+)\r?$", re.M)  # while loading, for progress
_LOAD_FAILURE = re.compile(r"(?i)\brdb\b|loading db|load db|db from file|rdb format")
_LOG_LINE = re.compile(r"^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ ([#*.-]) (.*)$")
_QUOTED = re.compile(r"'[^']*'")
# A server we own that drops a connection has died: retrying (redis-py's default, with backoff) only delays that.
_NO_RETRY = Retry(NoBackoff(), 0)


class RdbLoadError(SandboxError):
    """The server exited while loading the RDB: the artifact is damaged or not loadable by this server."""


class RdbLoadTimeout(RdbLoadError):
    """The server was still loading the RDB when restore_timeout ran out (it has been stopped)."""


def loaded(info_persistence: str) -> bool:
    """Whether INFO persistence says the dataset is loaded (`loading:0` as a whole line)."""
    return _LOADED.search(info_persistence) is not None


def redact_log(text: str) -> str:
    """Server and check-rdb output without key names or values: quoted text is cut, `Reading key` dropped."""
    lines = [line for line in text.splitlines() if "Reading key" not in line]
    return "\n".join(_QUOTED.sub("'<redacted>'", line) for line in lines)


def load_errors(log: str) -> list[str]:
    """The warning-level lines of a server log and check-rdb's error lines, redacted."""
    out: list[str] = []
    in_report = False
    for line in redact_log(log).splitlines():
        match = _LOG_LINE.match(line)
        if match:
            if match.group(1) == "#" and "overcommit" not in match.group(2):
                out.append(match.group(2).strip())
            continue
        in_report = in_report or "RDB ERROR DETECTED" in line
        if in_report and line.startswith(("[offset", "[additional info]")) and "Check RDB returned" not in line:
            out.append(line.strip())
    return out


@dataclass(frozen=True)
class RedisWorkdir:
    """The sandbox's private directory, with the copy of the RDB the server will load."""

    path: Path
    rdb: Path | None
    user: RunAs | None


@dataclass(frozen=True)
class RedisServer:
    installation: RedisInstallation
    socket: Path
    pgid: int
    workdir: Path

    def client(self, db: int = 0) -> redis.Redis:
        # driver_info None: no CLIENT SETINFO on connect, nothing but our own commands
        return redis.Redis(unix_socket_path=str(self.socket), db=db, socket_timeout=None, driver_info=None,
                           retry=_NO_RETRY)

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="local", engine=self.installation.flavor, version=self.installation.version)


@contextmanager
def redis_workdir(rdb: Path | None, *, user_name: str | None = None,
                  prefix: str = WORKDIR_PREFIX) -> Iterator[RedisWorkdir]:
    """A private directory holding a copy of `rdb` (the user's file is never loaded in place)."""
    user = unprivileged_user(user_name, USER_FALLBACKS)
    path = private_workdir(prefix, user)
    try:
        copy = None
        if rdb is not None:
            copy = path / RDB_NAME
            shutil.copyfile(rdb, copy)
            copy.chmod(0o600)
        if user and copy is not None:
            user.own(copy)
        yield RedisWorkdir(path=path, rdb=copy, user=user)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def check_rdb(installation: RedisInstallation, workdir: RedisWorkdir, *,
              timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `<flavour>-check-rdb` on the sandbox's copy. The check is built into the server binary and
    selected by the name it is started under, so without a separate tool a symlink of that name does."""
    assert workdir.rdb is not None
    tool = installation.checker
    if tool is None:
        tool = workdir.path / f"{installation.flavor}-check-rdb"
        tool.symlink_to(installation.server)
    return run_as([str(tool), str(workdir.rdb)], workdir.user, timeout=timeout, env=_server_env(),
                  cwd=workdir.path)


def mode_arguments(mode: str) -> list[str]:
    """The command-line settings of `mode` (MODE_SETTINGS), for a local server or a container."""
    return [part for key, value in MODE_SETTINGS[mode].items() for part in (f"--{key}", value)]


@contextmanager
def redis_server(installation: RedisInstallation, workdir: RedisWorkdir, *,
                 readiness: Readiness = DEFAULT_READINESS, mode: str = "fast") -> Iterator[RedisServer]:
    """Start the server on the workdir (loading its RDB, if any) with the settings of `mode`; on exit stop its
    whole process group."""
    socket = workdir.path / SOCKET_NAME
    argv = [str(installation.server), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
            "--dir", str(workdir.path), "--dbfilename", RDB_NAME, *mode_arguments(mode),
            "--daemonize", "no", "--databases", str(DATABASES), "--logfile", "", "--loglevel", "notice"]
    server = ServerProcess(argv, log_path=workdir.path / "server.log", user=workdir.user, env=_server_env(),
                           cwd=workdir.path, stop_signal=signal.SIGTERM)
    try:
        _wait_loaded(server, socket, installation, workdir, readiness)
        yield RedisServer(installation=installation, socket=socket, pgid=server.pid, workdir=workdir.path)
    finally:
        server.stop()


@contextmanager
def local_redis(installation: RedisInstallation, rdb: Path | None = None, *, user_name: str | None = None,
                readiness: Readiness = DEFAULT_READINESS, prefix: str = WORKDIR_PREFIX,
                mode: str = "fast") -> Iterator[RedisServer]:
    """A throwaway server, empty or loaded from a copy of `rdb`; everything is removed on exit."""
    with redis_workdir(rdb, user_name=user_name, prefix=prefix) as workdir, \
            redis_server(installation, workdir, readiness=readiness, mode=mode) as server:
        yield server


def _wait_loaded(server: ServerProcess, socket: Path, installation: RedisInstallation, workdir: RedisWorkdir,
                 readiness: Readiness) -> None:
    what = f"{installation.label} sandbox ({installation.server})"
    loading = progress.task("bytes")
    try:
        readiness.wait(lambda: _probe(socket, loading), what=what, alive=server.alive,
                       log_tail=lambda: redact_log(server.log_tail()),
                       hint="see the log above; set sandbox.bin_dir to another server or raise sandbox.start_timeout")
    except SandboxError:
        log = server.log_path.read_text(encoding="utf-8", errors="replace") if server.log_path.exists() else ""
        if workdir.rdb is not None and server.alive():
            server.stop()
            raise RdbLoadTimeout(f"{installation.label} was still loading the RDB after {readiness.timeout:g}s "
                               "(restore_timeout)") from None
        if workdir.rdb is not None and _LOAD_FAILURE.search(log):
            server.stop()
            lines = load_errors(log) or [redact_log(server.log_tail())]
            raise RdbLoadError(f"{installation.label} exited (code {server.popen.returncode}) while loading the "
                               "RDB:\n" + "\n".join(lines[:30])) from None
        raise


def _probe(socket: Path, loading: progress.Task | None = None) -> bool:
    if not socket.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=5, driver_info=None, retry=_NO_RETRY)
    client.set_response_callback("INFO", lambda response, **_: response)  # the raw text, not redis-py's dict
    try:
        reply = client.info("persistence")
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()
    if not isinstance(reply, bytes):
        return False
    text = reply.decode("utf-8", errors="replace")
    if loading is not None:
        report_loading(text, loading)
    return loaded(text)


def report_loading(info_persistence: str, loading: progress.Task) -> None:
    """While the server loads the RDB, INFO persistence says how many bytes of how many it has read."""
    sizes = {name: int(value) for name, value in _LOADING_BYTES.findall(info_persistence)}
    if sizes.get("total"):
        loading.update(sizes.get("loaded", 0), total=sizes["total"])


def _server_env() -> dict[str, str]:
    # LC_ALL=C: the server calls setlocale(LC_COLLATE, ""), and nothing of ours may depend on the host's locale
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
