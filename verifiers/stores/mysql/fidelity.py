"""How faithful a dump's restore is to the one production would do: on which flavour and release against the
source's (the dump's `-- Server version`, else the manifest's record of it), with which client, and under which
settings the RTO was measured.

A restore on another release can pass where production's would fail (removed syntax, collations, defaults), and a
sandbox with durability off restores faster than any real recovery: both are said in the evidence, not left for an
auditor to guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers.checks import CheckResult, not_compared
from verifiers.sandboxes import SandboxInfo
from verifiers.stores.mysql.archive import DumpHeader
from verifiers.stores.mysql.installations import LABELS, MysqlInstallation, client_version, series, version_tuple
from verifiers.stores.mysql.network_server import MysqlTarget, NetworkMysql

# Settings that bear on restore time, read back from the server (what it runs with, not what we asked for):
# durability per commit, the binary log, the redo log and the buffer pool. Either flavour lacks some of them
# (MySQL 8.0.30+ sizes its redo log with innodb_redo_log_capacity): those are left out.
RESTORE_SETTINGS = ("innodb_flush_log_at_trx_commit", "innodb_doublewrite", "sync_binlog", "log_bin",
                    "innodb_buffer_pool_size", "innodb_log_file_size", "innodb_redo_log_capacity",
                    "innodb_log_buffer_size", "innodb_flush_method", "innodb_io_capacity", "max_allowed_packet")
_DOUBLEWRITE_OFF = ("OFF", "0", "DETECT_ONLY")  # DETECT_ONLY (MySQL 8.0.30+): no page restored from it


def read_settings(connect: Callable[[], Connection[Cursor]]) -> dict[str, str]:
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN %s", (RESTORE_SETTINGS,))
            rows = cur.fetchall()
    finally:
        conn.close()
    return {str(name): str(value) for name, value in sorted(rows)}


def mode_of(settings: Mapping[str, str]) -> str:
    """"fast" when InnoDB does not flush its log at each commit or writes no doublewrite pages (an optimistic
    RTO), else "production-like"."""
    fast = (settings.get("innodb_flush_log_at_trx_commit") not in (None, "1")
            or settings.get("innodb_doublewrite", "ON").upper() in _DOUBLEWRITE_OFF)
    return "fast" if fast else "production-like"


def describe(info: SandboxInfo, connect: Callable[[], Connection[Cursor]], client: MysqlInstallation) -> SandboxInfo:
    """The sandbox record with the settings the server runs with, the mode they amount to, and the client's
    version."""
    settings = read_settings(connect)
    tool = client.tool("client")
    tools = {tool.name: client_version(tool) or client.version} if tool else {}
    return replace(info, settings=settings, tools=tools, mode=mode_of(settings))


def with_recorded_source(header: DumpHeader, recorded: str | None) -> DumpHeader:
    """The dump's header, with the server version the manifest recorded at capture (`source.server_version`) when
    the dump itself names none: the sandbox is then chosen, and the engine check judged, against it."""
    if header.server_version is not None or recorded is None:
        return header
    return replace(header, server_version=recorded)


def source_label(header: DumpHeader) -> str | None:
    """"MariaDB 10.11.19-MariaDB-0+deb12u1": the server the dump came from, as it said, or None."""
    if header.server_version is None:
        return None
    return f"{LABELS[header.flavour]} {header.server_version.removeprefix('5.5.5-')}"


def engine_check(header: DumpHeader, sandbox: SandboxInfo, *, exact: bool,
                 chosen: str = "the nearest that can take this dump here") -> CheckResult:
    """The sandbox's flavour and release against the source's. On another release (or, on a server this harness
    did not start, another flavour) the check passes under version_match = "nearest" but says so and why this
    server (`chosen`); a local "exact" never gets this far (the choice of installation failed)."""
    observed = f"{LABELS.get(sandbox.engine, sandbox.engine)} {sandbox.version}"
    source = source_label(header)
    if source is None:
        return not_compared("engine", "sandbox", observed, "the dump records no server version (no `-- Server "
                            f"version` line, nor its manifest a `source`; {observed} sandbox)")
    try:
        release = version_tuple(sandbox.version)
    except ValueError:
        release = (0, 0)
    same = sandbox.engine == header.flavour and release == header.min_release
    wanted = series(header.flavour, header.min_release)
    if same:
        message = f"{observed} sandbox for a {source} source: the same flavour and release"
    else:
        message = (f"sandbox {observed}, source {source}: verified on another "
                   f"{'release' if sandbox.engine == header.flavour else 'flavour'} "
                   f"({series(sandbox.engine, release)}, not {wanted}), {chosen} — install {wanted} to verify on "
                   'the source\'s own, or set sandbox.version_match = "exact" to require it')
    return CheckResult("engine", "sandbox", same or not exact, observed, source, message)


def why_chosen(server: MysqlTarget) -> str:
    """Why this server, for the engine check: the user named it, or it is the nearest here."""
    if isinstance(server, NetworkMysql):
        image = server.info.details.get("image")
        return f"the {image} image's server" if image else "the external server the sandbox names"
    if server.installation.origin.startswith("configured"):
        return "the installation sandbox.bin_dir names"
    if server.installation.named:
        return "the installation RESTOREPROOF_MYSQL_BIN_DIR names"
    return "the nearest that can take this dump here"
