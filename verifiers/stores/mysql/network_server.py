"""A MariaDB/MySQL container as the sandbox (`sandbox = "docker"`), with the same connection facts as the local
`MysqlServer` (connect, client_argv, installation for the local client tools, a workdir for logs), so restore
and measurement run unchanged. The random root password reaches the client tools in a 0600 option file, never
on a command line; the container is removed on every exit path (verifiers/sandboxes/docker.py)."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo, external
from verifiers.sandboxes.docker import ContainerFactory, ContainerSpec, docker_container
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.mysql.installations import MysqlInstallation
from verifiers.stores.mysql.local_server import MysqlServer, server_settings, write_option_file

log = logging.getLogger(__name__)
CONTAINER_PORT = 3306
SUPERUSER = "root"
SOCKET_ONLY = ("--skip-networking", "--skip-slave-start")


def container_settings(mode: str) -> tuple[str, ...]:
    """The local sandbox's settings of `mode`, less those about its private socket (a container is reached over
    TCP)."""
    return tuple(s for s in server_settings(mode) if s not in SOCKET_ONLY)


@dataclass(frozen=True)
class NetworkMysql:
    """A server reached over TCP (or the user's socket). For an external server `restore_database` is the scratch
    database this run created (`database_ready`), and `foreign` says no accounts may be created there."""

    installation: MysqlInstallation
    host: str | None
    port: int | None
    password: str | None
    workdir: Path
    option_file: Path
    info: SandboxInfo
    user: str = SUPERUSER
    unix_socket: str | None = None
    restore_database: str | None = None
    database_ready: bool = False
    foreign: bool = False

    def connect(self, database: str | None = None) -> Connection[Cursor]:
        where: dict[str, Any] = ({"unix_socket": self.unix_socket} if self.unix_socket
                                 else {"host": self.host, "port": self.port or CONTAINER_PORT})
        return pymysql.connect(**where, user=self.user, password=self.password or "", database=database,
                               charset="utf8mb4", autocommit=True)

    def client_argv(self, role: str = "client") -> list[str]:
        tool = self.installation.tool(role)
        if tool is None:
            raise SandboxError(f"{self.installation.describe()} has no {role} tool")
        return [str(tool), f"--defaults-file={self.option_file}"]


MysqlTarget = MysqlServer | NetworkMysql


def flavour_of(image: str) -> str:
    return "mysql" if image.rsplit("/", 1)[-1].split(":")[0] == "mysql" else "mariadb"


@contextmanager
def docker_mysql(installation: MysqlInstallation, *, image: str, readiness: Readiness,
                 factory: ContainerFactory | None = None, mode: str = "fast") -> Iterator[NetworkMysql]:
    password = secrets.token_urlsafe(24)
    flavour = flavour_of(image)
    env = {"MARIADB_ROOT_PASSWORD": password} if flavour == "mariadb" else {"MYSQL_ROOT_PASSWORD": password}
    # Both images start a temporary server (port 0) to initialise, then the real one: only it says port 3306.
    spec = ContainerSpec(image=image, ports=(CONTAINER_PORT,), env=env, command=container_settings(mode),
                         ready_log=rf"port: {CONTAINER_PORT}\s")
    workdir = Path(tempfile.mkdtemp(prefix="restoreproof-mysqlnet-"))
    try:
        with docker_container(spec, timeout=readiness.timeout, factory=factory) as running:
            port = running.port(CONTAINER_PORT)
            option_file = write_option_file(workdir / "client.cnf", {
                "host": running.host, "port": str(port), "protocol": "TCP", "user": SUPERUSER, "password": password})
            server = NetworkMysql(installation=installation, host=running.host, port=port, password=password,
                                  workdir=workdir, option_file=option_file,
                                  info=SandboxInfo(type="docker", engine=flavour, version="?",
                                                   details={"image": image}))
            readiness.wait(lambda: _accepts(server), what=f"{image} container", alive=running.alive,
                           log_tail=running.logs, hint="see the container log above")
            yield NetworkMysql(installation=installation, host=server.host, port=port, password=password,
                               workdir=workdir, option_file=option_file,
                               info=SandboxInfo(type="docker", engine=flavour, version=_version(server),
                                                details={"image": image}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _accepts(server: NetworkMysql) -> bool:
    try:
        conn = server.connect()
    except pymysql.err.MySQLError:
        return False
    conn.close()
    return True


def _version(server: NetworkMysql) -> str:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
    finally:
        conn.close()
    return str(row[0]).split("-")[0] if row else "?"


MARKER_TABLE = "restoreproof_scratch_marker"  # MySQL has no database comments: the marker is a one-row table


@contextmanager
def external_mysql(installation: MysqlInstallation, *, store: str, settings: ExternalSandbox, charset: str,
                   collation: str, readiness: Readiness) -> Iterator[NetworkMysql]:
    """A scratch database, created (and marked) by this run on the user's server, dropped on every exit; the
    server itself is only used with the user's explicit opt-in. The DSN's database is only connected to."""
    from verifiers.errors import CaptureError
    from verifiers.stores.mysql.dsn import parse_dsn

    try:
        target = parse_dsn(settings.dsn.get_secret_value(), what=f"store {store}: sandbox.dsn")
    except CaptureError as exc:
        raise SandboxError(exc.message, hint=exc.hint) from None
    where = target.unix_socket or external.display_target("", host=target.host, port=target.port)
    external.require_opt_in(store, settings, where)
    name = external.new_scratch_name()
    workdir = Path(tempfile.mkdtemp(prefix="restoreproof-mysqlnet-"))
    options = {**target.client_options(), **({} if target.password else {"password": ""})}
    server = NetworkMysql(installation=installation, host=target.host, port=target.port, password=target.password,
                          workdir=workdir, option_file=write_option_file(workdir / "client.cnf", options),
                          info=SandboxInfo(type="external", engine="?", version="?"), user=target.user or SUPERUSER,
                          unix_socket=target.unix_socket, restore_database=name, database_ready=True, foreign=True)
    created, failing = False, True
    try:
        version = _create_scratch(server, name, charset, collation, store=store, target=where)
        created = True
        flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
        yield NetworkMysql(**{**server.__dict__, "info": SandboxInfo(
            type="external", engine=flavour, version=version.split("-")[0],
            details={"target": where, "database": name})})
        failing = False
    finally:
        try:
            if created:
                _drop_scratch(server, name, store=store, target=where, failing=failing)
        finally:
            external.forget(name)
            shutil.rmtree(workdir, ignore_errors=True)


def _create_scratch(server: NetworkMysql, name: str, charset: str, collation: str, *, store: str,
                    target: str) -> str:
    quoted = f"`{name}`"  # a name of our own: [a-z0-9_] only
    try:
        conn = server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
                row = cur.fetchone()
                if row and row[0]:
                    raise SandboxError(f"store {store}: database {name} already exists on {target}; refusing to touch "
                                       "a database this run did not create", hint="run again (names are random)")
                cur.execute("SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = %s "
                            "AND CHARACTER_SET_NAME = %s", (collation, charset))
                known = cur.fetchone()
                plain = all(part.replace("_", "").isalnum() for part in (charset, collation))
                suffix = f" CHARACTER SET {charset} COLLATE {collation}" if known and known[0] and plain else ""
                cur.execute(f"CREATE DATABASE {quoted}{suffix}")
                cur.execute(f"CREATE TABLE {quoted}.`{MARKER_TABLE}` (marker VARCHAR(255) NOT NULL)")
                marker_sql = f"INSERT INTO {quoted}.`{MARKER_TABLE}` VALUES (%s)"  # noqa: S608 - our own name
                cur.execute(marker_sql, (external.marker(name),))
                cur.execute("SELECT VERSION()")
                version = cur.fetchone()
        finally:
            conn.close()
    except pymysql.err.MySQLError as exc:
        raise SandboxError(f"store {store}: cannot create a scratch database on the external server {target}: "
                           f"{exc.args[-1] if exc.args else type(exc).__name__}",
                           hint="the DSN's user needs CREATE and DROP; check host, port, socket and "
                           "credentials") from None
    return str(version[0]) if version else "?"


def _drop_scratch(server: NetworkMysql, name: str, *, store: str, target: str, failing: bool) -> None:
    try:
        conn = server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
                row = cur.fetchone()
                if not row or not row[0]:
                    return
                try:
                    cur.execute(f"SELECT marker FROM `{name}`.`{MARKER_TABLE}`")  # noqa: S608 - our own name
                    found = cur.fetchall()
                except pymysql.err.ProgrammingError:  # the marker table is gone
                    found = ()
                external.ensure_ours(store, name, str(found[0][0]) if len(found) == 1 else None, target)
                cur.execute(f"DROP DATABASE `{name}`")
        finally:
            conn.close()
    except (pymysql.err.MySQLError, SandboxError) as exc:
        error = exc if isinstance(exc, SandboxError) else SandboxError(
            f"store {store}: could not drop scratch database {name} on {target}: {exc}",
            hint=f"drop it by hand: DROP DATABASE `{name}`")
        if not failing:
            raise error from None
        log.error("%s (%s)", error, error.hint)
