"""A disposable local MariaDB / MySQL server: a data directory initialised for this run, a private 0700
socket directory and no TCP listener, an unprivileged user when we are root, real authentication with a
random root password (kept in a 0600 option file, never on a command line), and a teardown that always runs.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.process import RunAs, ServerProcess, run_as, unprivileged_user
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.user_access import private_workdir
from verifiers.stores.mysql.installations import USER_FALLBACKS, MysqlInstallation

WORKDIR_PREFIX = "restoreproof-mysql-"
SOCKET_NAME = "mysqld.sock"
SUPERUSER = "root"
DEFAULT_READINESS = Readiness()
# Always: no TCP listener (the socket lives in a directory only we and the server user can enter), no scheduled
# events changing data under the checks, and the engines' default buffer pool (a memory setting, recorded).
PRIVATE_SETTINGS = (
    "--skip-networking",
    "--skip-name-resolve",
    "--skip-slave-start",
    "--event-scheduler=OFF",  # events are created (DISABLED would refuse them) but never run
    "--innodb-buffer-pool-size=128M",
    "--innodb-buffer-pool-dump-at-shutdown=OFF",
    "--innodb-buffer-pool-load-at-startup=OFF",
    "--innodb-fast-shutdown=2",  # the data directory is deleted next: skip the flush a clean shutdown does
    "--max-allowed-packet=1G",
    "--character-set-server=utf8mb4",
    "--default-time-zone=+00:00",
    "--explicit-defaults-for-timestamp=ON",
)
# The fast mode trades durability for speed: a sandbox is thrown away and never needs crash safety. No fsync per
# commit, no doublewrite, no binary log, a small redo log. The RTO it measures is optimistic, and the evidence says
# so (the settings are read back from the server and recorded).
FAST_SETTINGS = (
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-log-file-size=16M",
)
# The production-like mode keeps the engine's durable defaults: a log flush per commit, doublewrite, the engine's
# redo log size, and the binary log as the engine has it (on with sync_binlog = 1 in MySQL 8, off in MariaDB).
MODE_SETTINGS: dict[str, tuple[str, ...]] = {"fast": FAST_SETTINGS, "production-like": ()}


def server_settings(mode: str) -> tuple[str, ...]:
    return PRIVATE_SETTINGS + MODE_SETTINGS[mode]


# Passed through to the bootstrap server: its many small commits need no fsync either.
BOOTSTRAP_SETTINGS = ("--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-log-file-size=16M",
                      "--innodb-buffer-pool-size=64M")


def write_option_file(path: Path, options: dict[str, str]) -> Path:
    """A `[client]` option file readable by its owner only: how passwords reach the client tools."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("[client]\n")
        for key, value in options.items():
            fh.write(f"{key}={_option_value(value)}\n")
    return path


def _option_value(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise SandboxError("an option file value cannot contain a line break or NUL")
    # Quoted, so `#` and spaces are part of the value; inside, the reader undoes `\\` and `\"`.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True)
class MysqlServer:
    """Where a running sandbox server listens, for PyMySQL and the client tools."""

    installation: MysqlInstallation
    socket: Path
    port: int
    pgid: int
    workdir: Path
    password: str
    option_file: Path

    def connect(self, database: str | None = None) -> Connection[Cursor]:
        return pymysql.connect(unix_socket=str(self.socket), user=SUPERUSER, password=self.password,
                               database=database, charset="utf8mb4", autocommit=True)

    def client_argv(self, role: str = "client") -> list[str]:
        """A client tool with this server's option file (which must come first) and nothing else read."""
        tool = self.installation.tool(role)
        if tool is None:
            raise SandboxError(f"{self.installation.describe()} has no {role} tool")
        return [str(tool), f"--defaults-file={self.option_file}"]

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="local", engine=self.installation.flavour, version=self.installation.version)


@contextmanager
def local_mysql(
    installation: MysqlInstallation,
    *,
    user_name: str | None = None,
    readiness: Readiness = DEFAULT_READINESS,
    workdir_base: Path | None = None,
    prefix: str = WORKDIR_PREFIX,
    mode: str = "fast",
) -> Iterator[MysqlServer]:
    """Start a throwaway server from `installation` with the settings of `mode` (MODE_SETTINGS); on exit, stop it
    and delete everything it wrote."""
    user = unprivileged_user(user_name, USER_FALLBACKS)
    workdir = private_workdir(prefix, user, workdir_base)
    process: ServerProcess | None = None
    try:
        data, sockets, tmp = workdir / "data", workdir / "run", workdir / "tmp"
        for path in (sockets, tmp):
            path.mkdir(mode=0o700)
        if user:
            for path in (sockets, tmp):
                user.own(path)
        _initialise(installation, data, user, workdir)
        port = random.randint(20000, 60000)  # noqa: S311 - never listened on (skip-networking); keeps 3306 free
        socket = sockets / SOCKET_NAME
        argv = [str(installation.server), "--no-defaults", f"--datadir={data}", f"--socket={socket}",
                f"--port={port}", f"--tmpdir={tmp}", f"--pid-file={workdir / 'server.pid'}", *server_settings(mode)]
        if installation.flavour == "mysql":
            argv += ["--mysqlx=OFF"]
        process = ServerProcess(argv, log_path=workdir / "server.log", user=user, env=_server_env(), cwd=workdir,
                                stop_signal=signal.SIGTERM)
        readiness.wait(
            lambda: _accepts_connections(socket),
            what=f"{installation.flavour} {installation.version} sandbox ({installation.server})",
            alive=process.alive,
            log_tail=process.log_tail,
            hint="see the log above; set sandbox.bin_dir to another installation or raise sandbox.start_timeout",
        )
        password = secrets.token_urlsafe(24)
        _set_root_password(socket, password)
        option_file = write_option_file(workdir / "client.cnf", {
            "user": SUPERUSER, "password": password, "socket": str(socket), "default-character-set": "utf8mb4",
        })
        yield MysqlServer(installation=installation, socket=socket, port=port, pgid=process.pid, workdir=workdir,
                          password=password, option_file=option_file)
    finally:
        try:
            if process is not None:
                process.stop(timeout=30)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _server_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "TZ": "UTC"}


def _initialise(installation: MysqlInstallation, data: Path, user: RunAs | None, workdir: Path) -> None:
    """A fresh data directory whose root@localhost has no password yet (set over the private socket next)."""
    if installation.flavour == "mariadb":
        tool = installation.tool("install_db")
        if tool is None:
            raise SandboxError(f"{installation.describe()}: no mariadb-install-db to initialise a data directory",
                               hint="install the distribution's mariadb-server package or set sandbox.bin_dir")
        # --tmpdir: the bootstrap server's temporary tables go in the sandbox, not a /tmp shared with other runs
        argv = [str(tool), "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve", f"--basedir={_basedir(installation)}",
                f"--tmpdir={workdir / 'tmp'}", *BOOTSTRAP_SETTINGS]
        if user:
            argv.append(f"--user={user.name}")
    else:
        argv = [str(installation.server), "--no-defaults", "--initialize-insecure", f"--datadir={data}"]
    result = run_as(argv, user, timeout=180, env=_server_env(), cwd=workdir)
    if result.returncode != 0:
        raise SandboxError(
            f"initialising a {installation.flavour} data directory ({' '.join(argv[:1])}) failed with exit code "
            f"{result.returncode}: {(result.stderr or result.stdout).strip()[-2000:]}",
            hint="check that the sandbox user can write the temp dir, or set sandbox.bin_dir",
        )


def _basedir(installation: MysqlInstallation) -> Path:
    """The prefix holding share/ (mariadb-install-db finds its SQL scripts there): /usr for /usr/sbin/mariadbd."""
    return installation.server.parent.parent


def _accepts_connections(socket: Path) -> bool:
    try:
        conn = pymysql.connect(unix_socket=str(socket), user=SUPERUSER, password="", connect_timeout=2)
    except pymysql.err.OperationalError as exc:
        # 1045: access denied means it is up (someone set a password); anything else: not yet.
        return bool(exc.args and exc.args[0] == 1045)
    conn.close()
    return True


def _set_root_password(socket: Path, password: str) -> None:
    conn = pymysql.connect(unix_socket=str(socket), user=SUPERUSER, password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (password,))
    finally:
        conn.close()
