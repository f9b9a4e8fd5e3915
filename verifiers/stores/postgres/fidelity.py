"""How faithful a restore is to the one production would do: on which engine major against the source's, with which
client tools, and under which settings the RTO was measured.

A restore on another major can pass where production's would fail (extensions, removed settings, catalog
changes), and a sandbox with durability off restores faster than any real recovery: both are said in the
evidence, not left for an auditor to guess.
"""

from __future__ import annotations

from dataclasses import replace

import psycopg

from verifiers.checks import CheckResult, not_compared
from verifiers.sandboxes import SandboxInfo
from verifiers.stores.postgres.archive import DumpHeader, major_of
from verifiers.stores.postgres.local_server import PgInstallation

# Settings that bear on restore time, read back from the server (what it runs with, not what we asked for)
RESTORE_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers",
                    "maintenance_work_mem", "work_mem", "max_wal_size", "checkpoint_timeout", "autovacuum",
                    "max_parallel_maintenance_workers")
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


def source_version(header: DumpHeader, recorded: str | None) -> str | None:
    """The source server's version: the archive header's "dumped from", else the manifest's record of it."""
    return header.server_version or recorded


def read_settings(conninfo: str) -> dict[str, str]:
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
                            (list(RESTORE_SETTINGS),)).fetchall()
    return {str(name): str(value) for name, value in rows}


def mode_of(settings: dict[str, str]) -> str:
    """"fast" when any durability setting is off (an optimistic RTO), else "production-like"."""
    return "fast" if any(settings.get(name) == "off" for name in DURABILITY) else "production-like"


def describe(info: SandboxInfo, conninfo: str, client: PgInstallation, *, jobs: int,
             runs: str | None = None) -> SandboxInfo:
    """The sandbox record with the settings the server runs with, the restore's parallel jobs and runs, the mode
    they amount to, and the client tools' version."""
    settings = read_settings(conninfo)
    settings["restore_jobs"] = str(jobs)
    if runs is not None:
        settings["restore_runs"] = runs
    tools = {"pg_restore": client.version, "psql": client.version}
    return replace(info, settings=settings, tools=tools, mode=mode_of(settings))


def engine_check(source: str | None, sandbox: str, *, exact: bool) -> CheckResult:
    """The sandbox's major against the source's. On another (newer) major the check passes under
    version_match = "nearest" but says so; "exact" never gets this far (the choice of installation failed)."""
    if source is None:
        return not_compared("engine", "sandbox", sandbox,
                            f"the backup records no source server version (PostgreSQL {sandbox} sandbox)")
    same = major_of(source) == major_of(sandbox)
    if same:
        message = f"PostgreSQL {sandbox} sandbox for a PostgreSQL {source} source: the same major"
    else:
        message = (f"sandbox PostgreSQL {sandbox}, source {source}: verified on another major "
                   f"({major_of(sandbox)}, not {major_of(source)}), the nearest that can take this backup here — "
                   f"install PostgreSQL {major_of(source)} to verify on the source's own, or set "
                   'sandbox.version_match = "exact" to require it')
    return CheckResult("engine", "sandbox", same or not exact, sandbox, source, message)
