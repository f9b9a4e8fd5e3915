"""Which sandbox a postgres store is restored into, chosen by `sandbox.type`: a local server process
(verifiers/stores/postgres/local_server.py), a container, or a scratch database on the user's server
(verifiers/stores/postgres/network_server.py). The store code after this seam is the same for all three."""

from __future__ import annotations

import contextlib

from verifiers.errors import SandboxError
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import DockerSandbox, ExternalSandbox, LocalSandbox
from verifiers.stores.postgres.archive import DumpHeader
from verifiers.stores.postgres.local_server import PgInstallation, local_postgres
from verifiers.stores.postgres.network_server import NetworkPostgres, PostgresTarget, docker_postgres, external_postgres
from verifiers.stores.postgres.restore import RESTORE_DATABASE
from verifiers.stores.postgres.settings import PostgresStore

LOCAL_TOOLS = ("postgres", "pg_restore", "psql")
CLIENT_TOOLS = ("pg_restore", "psql")  # a container or an external server brings its own postgres


def needed_tools(store: PostgresStore) -> tuple[str, ...]:
    return LOCAL_TOOLS if store.sandbox.type == "local" else CLIENT_TOOLS


def default_image(header: DumpHeader) -> str:
    """The official image of the lowest major that can take the dump, as for the local sandbox: the server the
    dump recorded, or the pg_dump that wrote it if newer (its pg_restore emits settings older servers reject)."""
    return f"postgres:{header.required_major}" if header.required_major else "postgres:latest"


def open_sandbox(store: PostgresStore, installation: PgInstallation, header: DumpHeader,
                 encoding: str) -> contextlib.AbstractContextManager[PostgresTarget]:
    settings = store.sandbox
    readiness = Readiness(timeout=settings.start_timeout)
    if isinstance(settings, LocalSandbox):
        return local_postgres(installation, user_name=settings.user, readiness=readiness, mode=settings.mode)
    if isinstance(settings, DockerSandbox):
        return docker_postgres(installation, image=settings.image or default_image(header),
                               restore_database=RESTORE_DATABASE, readiness=readiness, mode=settings.mode)
    if isinstance(settings, ExternalSandbox):
        return external_postgres(installation, store=store.name, settings=settings, encoding=encoding,
                                 readiness=readiness)
    raise SandboxError(f"store {store.name}: sandbox type {settings.type!r} cannot restore a postgres store",
                       hint='use sandbox = "local", "docker" or {type = "external", dsn = "..."}')


def restore_database(server: PostgresTarget) -> str:
    return server.restore_database if isinstance(server, NetworkPostgres) else RESTORE_DATABASE


def database_ready(server: PostgresTarget) -> bool:
    return isinstance(server, NetworkPostgres) and server.database_ready
