"""Which sandbox a mysql store is restored into, chosen by `sandbox.type`: a local server process
(verifiers/sandboxes/local_mysql.py) or a container (verifiers/sandboxes/network_mysql.py). The store code after
this seam is the same for both.

or a scratch database on a server the user provides (`external`, same module). There the dump is restored under
the scratch name, so the facts measured are renamed back to the database the manifest recorded before they are
judged, and a dump that would write outside its database (`USE`, `CREATE DATABASE`) is refused unrestored.
"""

from __future__ import annotations

import contextlib
import gzip
import re
from pathlib import Path
from typing import Any

from verifiers.errors import NoSuitableServerError, SandboxError
from verifiers.inventory import MysqlStore
from verifiers.sandboxes.local_mysql import local_mysql
from verifiers.sandboxes.mysql_installations import MysqlInstallation, choose_installation, find_installations
from verifiers.sandboxes.network_mysql import MARKER_TABLE, MysqlTarget, NetworkMysql, docker_mysql, external_mysql
from verifiers.sandboxes.readiness import Readiness
from verifiers.stores.mysql.archive import DumpHeader
from verifiers.stores.mysql.facts import DatabaseFacts

# statements that name a database: run on a server we did not start, they would write outside the scratch one
_OTHER_DATABASE = re.compile(
    rb"^\s*(?:/\*!\d+\s*)?(?:USE\s|(?:CREATE|DROP)\s+(?:DATABASE|SCHEMA)\b)", re.IGNORECASE)


def default_image(header: DumpHeader) -> str:
    """The official image of the flavour and release (major.minor) the dump recorded."""
    major, minor = header.min_release
    repository = "mariadb" if header.flavour == "mariadb" else "mysql"
    return f"{repository}:{major}.{minor}" if major else f"{repository}:latest"


def installation_for(store: MysqlStore, header: DumpHeader) -> MysqlInstallation:
    """Local tools: a whole server for the local sandbox; for a container only a client, of any release."""
    settings: Any = store.sandbox
    found = find_installations(settings.bin_dir, settings.user)
    if settings.type == "local":
        return choose_installation(found, flavour=header.flavour, min_release=header.min_release,
                                   roles=("client", "install_db") if header.flavour == "mariadb" else ("client",),
                                   purpose="restore it")
    for flavour in (header.flavour, "mariadb" if header.flavour == "mysql" else "mysql"):
        for installation in found:
            if installation.flavour == flavour and installation.tool("client"):
                return installation
    raise NoSuitableServerError(f"no mariadb or mysql client to restore into the {settings.type} sandbox",
                                hint="install the distribution's mariadb-client package or set sandbox.bin_dir")


def open_sandbox(store: MysqlStore, installation: MysqlInstallation, header: DumpHeader, *, charset: str = "utf8mb4",
                 collation: str = "utf8mb4_general_ci") -> contextlib.AbstractContextManager[MysqlTarget]:
    settings: Any = store.sandbox
    readiness = Readiness(timeout=settings.start_timeout)
    if settings.type == "local":
        return local_mysql(installation, user_name=settings.user, readiness=readiness)
    if settings.type == "docker":
        return docker_mysql(installation, image=settings.image or default_image(header), readiness=readiness)
    if settings.type == "external":
        return external_mysql(installation, store=store.name, settings=settings, charset=charset, collation=collation,
                              readiness=readiness)
    raise SandboxError(f"store {store.name}: sandbox type {settings.type!r} cannot restore a mysql store",
                       hint='use sandbox = "local" or "docker"')


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
