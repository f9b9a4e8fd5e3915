"""Which sandbox a mysql store is restored into, chosen by `sandbox.type`: a local server process
(verifiers/stores/mysql/local_server.py), a container (verifiers/stores/mysql/network_server.py), or a scratch database
on a server the user provides (`external`, same module). The store code after this seam is the same for all three.

A container or external server is restored with the client of its own flavour and release where one is installed
(`with_client_for_target`). On an external server the dump is restored under
the scratch name, so the facts measured are renamed back to the database the manifest recorded before they are
judged, and a dump that would write outside its database (`USE`, `CREATE DATABASE`) is refused unrestored.
"""

from __future__ import annotations

import contextlib
import gzip
import re
from dataclasses import replace
from pathlib import Path

from verifiers.errors import SandboxError
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import DockerSandbox, ExternalSandbox, LocalSandbox
from verifiers.stores.mysql.archive import DumpHeader
from verifiers.stores.mysql.facts import DatabaseFacts
from verifiers.stores.mysql.installations import (
    MysqlInstallation,
    choose_client,
    choose_installation,
    find_installations,
    version_tuple,
)
from verifiers.stores.mysql.local_server import local_mysql
from verifiers.stores.mysql.network_server import MARKER_TABLE, MysqlTarget, NetworkMysql, docker_mysql, external_mysql
from verifiers.stores.mysql.settings import MysqlStore

# statements that name a database: run on a server we did not start, they would write outside the scratch one
_OTHER_DATABASE = re.compile(
    rb"^\s*(?:/\*!\d+\s*)?(?:USE\s|(?:CREATE|DROP)\s+(?:DATABASE|SCHEMA)\b)", re.IGNORECASE)


def default_image(header: DumpHeader) -> str:
    """The official image of the flavour and release (major.minor) the dump recorded."""
    major, minor = header.min_release
    repository = "mariadb" if header.flavour == "mariadb" else "mysql"
    return f"{repository}:{major}.{minor}" if major else f"{repository}:latest"


def installation_for(store: MysqlStore, header: DumpHeader, *, exact: bool = False) -> MysqlInstallation:
    """Local tools: a whole server for the local sandbox, of the source's flavour and the nearest release (only its
    own with `exact`); for a container or an external server a client, the one nearest the source until the
    target's own release is known (with_client_for_target)."""
    settings = store.sandbox
    found = find_installations(settings.bin_dir, settings.user)
    if isinstance(settings, LocalSandbox):
        return choose_installation(found, flavour=header.flavour, min_release=header.min_release,
                                   roles=("client", "install_db") if header.flavour == "mariadb" else ("client",),
                                   purpose="restore it" + (" on the source's own release (sandbox.version_match = "
                                                           '"exact")' if exact else ""), exact=exact)
    return choose_client(found, flavour=header.flavour, release=header.min_release)


def with_client_for_target(server: MysqlTarget, store: MysqlStore) -> MysqlTarget:
    """A container's or external server's target with the client of its own flavour and release (else the nearest
    newer, see choose_client): an older server must not be fed what a newer client sends. A local sandbox already
    runs its installation's client."""
    if not isinstance(server, NetworkMysql):
        return server
    settings = store.sandbox
    try:
        release = version_tuple(server.info.version)
    except ValueError:
        return server
    client = choose_client(find_installations(settings.bin_dir, settings.user), flavour=server.info.engine,
                           release=release)
    return replace(server, installation=client)


def open_sandbox(store: MysqlStore, installation: MysqlInstallation, header: DumpHeader, *, charset: str = "utf8mb4",
                 collation: str = "utf8mb4_general_ci") -> contextlib.AbstractContextManager[MysqlTarget]:
    settings = store.sandbox
    readiness = Readiness(timeout=settings.start_timeout)
    if isinstance(settings, LocalSandbox):
        return local_mysql(installation, user_name=settings.user, readiness=readiness, mode=settings.mode)
    if isinstance(settings, DockerSandbox):
        return docker_mysql(installation, image=settings.image or default_image(header), readiness=readiness,
                            mode=settings.mode)
    if isinstance(settings, ExternalSandbox):
        return external_mysql(installation, store=store.name, settings=settings, charset=charset, collation=collation,
                              readiness=readiness)
    raise SandboxError(f"store {store.name}: sandbox type {settings.type!r} cannot restore a mysql store",
                       hint='use sandbox = "local", "docker" or {type = "external", dsn = "..."}')


def scratch_database(server: MysqlTarget) -> str | None:
    """The scratch database an external server gave us, else None (restore under the manifest's name)."""
    return server.restore_database if isinstance(server, NetworkMysql) else None


def foreign(server: MysqlTarget) -> bool:
    """A server the harness did not start: no accounts (definers) may be created there."""
    return isinstance(server, NetworkMysql) and server.foreign


def writes_elsewhere(artifact: Path, header: DumpHeader) -> str | None:
    """The first statement of the dump that names a database (streamed; only the statement's kind is told)."""
    with (gzip.open(artifact, "rb") if header.gzip else artifact.open("rb")) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                if match := _OTHER_DATABASE.match(line):
                    return f"line {number}: {match.group(0).decode('ascii', 'replace').strip()}…"
        except (OSError, EOFError):
            return None  # a damaged stream: the restore itself reports it
    return None


def as_captured(facts: DatabaseFacts, scratch: str | None, captured: str) -> DatabaseFacts:
    """Facts measured in the scratch database, named as in the database the manifest recorded, without our
    marker table. The scratch name is random (`restoreproof_scratch_<hex>`): it occurs only where it names it."""
    if scratch is None or scratch == captured:
        return facts
    renamed = DatabaseFacts.model_validate_json(facts.model_dump_json().replace(scratch, captured))
    marker = f"{captured}.{MARKER_TABLE}"
    return renamed.model_copy(update={
        "tables": {k: v for k, v in renamed.tables.items() if k != marker},
        "auto_increments": {k: v for k, v in renamed.auto_increments.items() if k != marker}})
