"""PostgreSQL sandboxes reached over the network: a container (`docker`) or a server the user provides
(`external`). Both yield a `NetworkPostgres`, which offers the store code the same connection facts as a local
`PostgresServer` (conninfo, client_env, installation for the client tools, a workdir for logs), so restore and
measurement run unchanged. Passwords go to client tools in PGPASSWORD, never on a command line.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo, external
from verifiers.sandboxes.docker import ContainerFactory, ContainerSpec, docker_container
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.postgres.local_server import MODE_SETTINGS, PgInstallation, PostgresServer

log = logging.getLogger(__name__)
CONTAINER_PORT = 5432
SUPERUSER = "postgres"
# libpq's connection parameters that have an environment variable: what the client tools may be given
_ENV_OF = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
           "passfile": "PGPASSFILE", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
           "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "connect_timeout": "PGCONNECT_TIMEOUT",
           "options": "PGOPTIONS", "application_name": "PGAPPNAME", "gssencmode": "PGGSSENCMODE",
           "channel_binding": "PGCHANNELBINDING", "target_session_attrs": "PGTARGETSESSIONATTRS",
           "service": "PGSERVICE"}


@dataclass(frozen=True)
class NetworkPostgres:
    """A PostgreSQL server reached over TCP. `restore_database` is where the store restores; when
    `database_ready` it already exists (an external scratch database) and the store must not create it."""

    installation: PgInstallation
    params: Mapping[str, str]
    admin_database: str
    restore_database: str
    workdir: Path
    info: SandboxInfo
    database_ready: bool = False
    created_roles: list[str] = field(default_factory=list)  # roles a plain dump needed, made by this run

    def conninfo(self, dbname: str | None = None) -> str:
        return str(psycopg.conninfo.make_conninfo(**self.params, dbname=dbname or self.admin_database))

    def client_env(self, dbname: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({_ENV_OF[k]: v for k, v in self.params.items()})
        env["PGDATABASE"] = dbname or self.admin_database
        return env

    def url(self, dbname: str | None = None) -> str:
        """postgresql:// URL (with the password: for tools that take only a URL, never for messages)."""
        user = quote(self.params.get("user", SUPERUSER), safe="")
        password = self.params.get("password")
        auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
        return (f"postgresql://{auth}{self.params.get('host', 'localhost')}:{self.params.get('port', '5432')}/"
                f"{quote(dbname or self.restore_database, safe='')}")


PostgresTarget = PostgresServer | NetworkPostgres


@contextmanager
def docker_postgres(installation: PgInstallation, *, image: str, restore_database: str, readiness: Readiness,
                    factory: ContainerFactory | None = None, mode: str = "fast") -> Iterator[NetworkPostgres]:
    """A postgres container (official image) with a random superuser password and the settings of `mode`, as in
    the local sandbox (MODE_SETTINGS); removed on every exit."""
    password = secrets.token_urlsafe(24)
    spec = ContainerSpec(image=image, ports=(CONTAINER_PORT,),
                         env={"POSTGRES_PASSWORD": password, "POSTGRES_USER": SUPERUSER},
                         command=("postgres", *(part for key, value in MODE_SETTINGS[mode].items()
                                                for part in ("-c", f"{key}={value}"))),
                         # the image's entrypoint starts a temporary server to initialise: the second line is it
                         ready_log=r"database system is ready to accept connections", ready_times=2)
    with _workdir() as workdir, docker_container(spec, timeout=readiness.timeout, factory=factory) as running:
        params = {"host": running.host, "port": str(running.port(CONTAINER_PORT)), "user": SUPERUSER,
                  "password": password}
        server = NetworkPostgres(installation=installation, params=params, admin_database="postgres",
                                 restore_database=restore_database, workdir=workdir,
                                 info=SandboxInfo(type="docker", engine="postgresql", version="?",
                                                  details={"image": image}))
        readiness.wait(lambda: _accepts(server), what=f"{image} container", alive=running.alive,
                       log_tail=running.logs, hint='see the container log; raise sandbox.start_timeout or use '
                       'sandbox = "local"')
        version = _server_version(server)
        yield NetworkPostgres(installation=installation, params=params, admin_database="postgres",
                              restore_database=restore_database, workdir=workdir,
                              info=SandboxInfo(type="docker", engine="postgresql", version=version,
                                               details={"image": image}))


@contextmanager
def external_postgres(installation: PgInstallation, *, store: str, settings: ExternalSandbox, encoding: str,
                      readiness: Readiness) -> Iterator[NetworkPostgres]:
    """A scratch database, created (and marked) by this run on the user's server, dropped on every exit; the
    server itself is only used with the user's explicit opt-in."""
    dsn = settings.dsn.get_secret_value()  # a SecretStr: never in a repr or a log
    params, admin = _parse_dsn(store, dsn)
    target = external.display_target(dsn, host=params.get("host"), port=params.get("port"))
    external.require_opt_in(store, settings, target)
    name = external.new_scratch_name()
    probe = NetworkPostgres(installation=installation, params=params, admin_database=admin, restore_database=name,
                            workdir=Path("."), info=SandboxInfo(type="external", engine="postgresql", version="?"))
    created = False
    failing = True
    try:
        with _workdir() as workdir:
            version = _create_scratch(probe, name, encoding, store=store, target=target,
                                      timeout=readiness.timeout)
            created = True
            server = NetworkPostgres(installation=installation, params=params, admin_database=admin,
                                     restore_database=name, workdir=workdir, database_ready=True,
                                     created_roles=probe.created_roles,
                                     info=SandboxInfo(type="external", engine="postgresql", version=version,
                                                      details={"target": target, "database": name}))
            yield server
            failing = False
    finally:
        try:
            if created:
                _drop_scratch(probe, name, store=store, target=target, failing=failing)
                _drop_roles(probe, store=store, target=target, failing=failing)
        finally:
            external.forget(name)


def _parse_dsn(store: str, dsn: str) -> tuple[dict[str, str], str]:
    try:
        params = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(dsn).items()}
    except psycopg.ProgrammingError:
        raise SandboxError(f"store {store}: sandbox.dsn is not a libpq connection string or URL",
                           hint="e.g. postgresql://ci@db:5432/postgres (the password from PGPASSWORD or ~/.pgpass)"
                           ) from None
    admin = params.pop("dbname", "") or "postgres"
    unknown = sorted(set(params) - set(_ENV_OF))
    if unknown:
        raise SandboxError(f"store {store}: sandbox.dsn uses {', '.join(unknown)}, which the client tools cannot be "
                           "given safely", hint=f"use only {', '.join(sorted(_ENV_OF))}")
    if "password" not in params and os.environ.get("PGPASSWORD"):
        params["password"] = os.environ["PGPASSWORD"]  # the client tools' environment is cleaned of PG*
    return params, admin


def _create_scratch(server: NetworkPostgres, name: str, encoding: str, *, store: str, target: str,
                    timeout: float) -> str:
    try:
        with psycopg.connect(server.conninfo(), autocommit=True, connect_timeout=max(1, int(timeout))) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                raise SandboxError(f"store {store}: database {name} already exists on {target}; refusing to touch "
                                   "a database this run did not create", hint="run again (names are random)")
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                sql.Identifier(name), sql.Literal(encoding)))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(external.marker(name))))
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    except psycopg.Error as exc:
        raise SandboxError(f"store {store}: cannot create a scratch database on the external server {target}: "
                           f"{_first_line(exc)}", hint="the DSN's user needs CREATEDB; check host, port and "
                           "credentials (PGPASSWORD or ~/.pgpass)") from None


def _drop_scratch(server: NetworkPostgres, name: str, *, store: str, target: str, failing: bool) -> None:
    try:
        with psycopg.connect(server.conninfo(), autocommit=True, connect_timeout=30) as conn:
            row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                               (name,)).fetchone()
            if row is None:
                log.warning("store %s: scratch database %s was already gone from %s", store, name, target)
                return
            external.ensure_ours(store, name, row[0], target)
            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
            if not force.as_string(conn):
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            conn.execute(sql.SQL("DROP DATABASE {}{}").format(sql.Identifier(name), force))
    except (psycopg.Error, SandboxError) as exc:
        error = exc if isinstance(exc, SandboxError) else SandboxError(
            f"store {store}: could not drop scratch database {name} on {target}: {_first_line(exc)}",
            hint=f"drop it by hand: DROP DATABASE {name}")
        if not failing:
            raise error from None
        log.error("%s (%s)", error, error.hint)


def _drop_roles(server: NetworkPostgres, *, store: str, target: str, failing: bool) -> None:
    """The NOLOGIN roles this run created for a plain dump's OWNER TO / GRANT (they owned only objects in the
    scratch database, which is gone)."""
    try:
        with psycopg.connect(server.conninfo(), autocommit=True, connect_timeout=30) as conn:
            for role in list(server.created_roles):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
                server.created_roles.remove(role)
    except psycopg.Error as exc:
        error = SandboxError(f"store {store}: could not drop the roles {', '.join(server.created_roles)} this run "
                             f"created on {target}: {_first_line(exc)}", hint="drop them by hand: DROP ROLE …")
        if not failing:
            raise error from None
        log.error("%s (%s)", error, error.hint)


def _accepts(server: NetworkPostgres) -> bool:
    try:
        with psycopg.connect(server.conninfo(), connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def _server_version(server: NetworkPostgres) -> str:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]


@contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="restoreproof-pgnet-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
