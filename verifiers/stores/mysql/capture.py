"""Capture at backup time: a mysqldump / mariadb-dump and a manifest that saw the same data.

MySQL cannot share one snapshot between two sessions (PostgreSQL's pg_export_snapshot has no equivalent), so
the two snapshots are made equal instead: a third session holds `LOCK TABLES ... READ` on every table of the
database (waiting for writers in flight to commit, holding new ones off) while the manifest's session opens
`START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` and the dump opens its own (`--single-transaction`).
The dump says on stderr (`--verbose`) when its transaction is open; the lock is released right then, so writes
pause for the time it takes to start the dump, not to run it. Both read views were created with no commit in
between: the dump and the manifest describe the same data, to the row. The live database is only read.
Like mysqldump itself this is consistent for transactional (InnoDB) tables only.

The dump tool is the source server's: of its flavour at the lowest release at least its own (mysql_installations'
choose_dump_tool), so the dump is the one the team's own tools would write; which was used is said on stderr and
recorded in the manifest with the server's version.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from verifiers import __version__
from verifiers.errors import CaptureError, NoSuitableServerError
from verifiers.sources import CHUNK, sha256_file
from verifiers.stores.key_ranges import DEFAULT_SEGMENT_ROWS, check_segment_rows
from verifiers.stores.mysql import measure
from verifiers.stores.mysql.dsn import MysqlTarget, parse_dsn
from verifiers.stores.mysql.installations import (
    DUMP_BIN_DIR,
    LABELS,
    DumpTool,
    choose_dump_tool,
    dump_package,
    find_dump_tools,
    series,
    version_tuple,
)
from verifiers.stores.mysql.local_server import write_option_file
from verifiers.stores.mysql.manifest import ManifestArtifact, MysqlManifest, SourceVersions, save_manifest
from verifiers.stores.mysql.rowhash import quote_identifier

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
LOCK_WAIT_SECONDS = 60
CONSISTENCY = ("LOCK TABLES ... READ held while the dump's --single-transaction snapshot and the manifest's "
               "consistent snapshot were opened")
DUMP_OPTIONS = ("--single-transaction", "--routines", "--events", "--triggers", "--hex-blob", "--verbose",
                "--default-character-set=utf8mb4", "--no-tablespaces", "--skip-lock-tables")
_BEFORE_SNAPSHOT = ("Connecting to", "Starting transaction")


class DumpRun:
    """The dump program, its stdout gzipped to a file and its stderr watched for the open snapshot."""

    def __init__(self, argv: Sequence[str], out: Path) -> None:
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, process_group=0)
        self.snapshot_open = threading.Event()
        self.stderr: list[str] = []
        self.copy_error: str | None = None
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [threading.Thread(target=self._copy, args=(self.proc.stdout, out), daemon=True),
                         threading.Thread(target=self._watch, args=(self.proc.stderr,), daemon=True)]
        for thread in self._threads:
            thread.start()

    def _copy(self, stdout: IO[bytes], out: Path) -> None:
        try:
            with gzip.open(out, "wb", compresslevel=6) as gz:
                shutil.copyfileobj(stdout, gz, CHUNK)
        except OSError as exc:
            self.copy_error = f"writing {out}: {exc.strerror or exc}"
            with contextlib.suppress(OSError):
                stdout.read()  # keep draining so the dump is not blocked on a full pipe

    def _watch(self, stderr: IO[bytes]) -> None:
        for raw in stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr.append(line)
            # Every verbose line after these two is printed once START TRANSACTION ... has returned.
            if not any(marker in line for marker in _BEFORE_SNAPSHOT):
                self.snapshot_open.set()
        self.snapshot_open.set()  # it exited: nothing left to wait for

    def finish(self) -> int:
        code = self.proc.wait()
        for thread in self._threads:
            thread.join()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.finish()

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr if line and not line.startswith("-- ")]


def capture_mysql(dsn: str, out_dir: Path, *, name: str | None = None, bin_dir: str | None = None,
                  now: datetime | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS,
                  snapshot_id: str | None = None) -> tuple[Path, Path]:
    """Write NAME-<stamp>.sql.gz and NAME-<stamp>.manifest.json into `out_dir`; return both paths. `snapshot_id`:
    the RDS snapshot taken with it, recorded in the manifest."""
    check_segment_rows("mysql", segment_rows)
    target = parse_dsn(dsn)
    shown = target.redacted()
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CaptureError(f"capture mysql: --name {name!r} is not a plain file name",
                           hint="use letters, digits, '.', '_' and '-'")
    lock, snap = _connect(target, shown), None
    try:
        server = read_server(lock, shown)
        dump_tool = dump_tool_for(server, bin_dir)
        snap = _connect(target, shown)
        stem = f"{name or target.database}-{(now or datetime.now(UTC)).strftime(STAMP_FORMAT)}"
        out_dir.mkdir(parents=True, exist_ok=True)
        dump_path, manifest_path = out_dir / f"{stem}.sql.gz", out_dir / f"{stem}.manifest.json"
        if dump_path.exists() or manifest_path.exists():
            raise CaptureError(f"capture mysql: {dump_path} already exists; refusing to overwrite a backup")
        source = SourceVersions(server_version=server.version, version_comment=server.comment,
                                flavour=server.flavour, dump_tool=dump_tool.describe(),
                                dump_tool_version=dump_tool.version)
        manifest = _capture(target, shown, lock, snap, dump_tool, dump_path, source=source, now=now,
                            segment_rows=segment_rows)
        save_manifest(manifest.model_copy(update={"snapshot_id": snapshot_id}), manifest_path)
    except pymysql.err.MySQLError as exc:
        raise CaptureError(f"capture mysql: reading {shown} failed: {_first_line(exc)}",
                           hint="check the user may SELECT, LOCK TABLES, SHOW VIEW, TRIGGER and EVENT on the "
                           "database (and read routine bodies)") from None
    except measure.DefinitionUnreadable as exc:
        raise CaptureError(f"capture mysql: {shown}: the definition of {exc} is not readable by this user",
                           hint="grant SHOW VIEW / SHOW_ROUTINE (MySQL 8) or SELECT on mysql.proc (MariaDB)") from None
    finally:
        for conn in (lock, snap):
            if conn is not None:
                with contextlib.suppress(pymysql.err.MySQLError):
                    conn.close()
    return dump_path, manifest_path


def _capture(target: MysqlTarget, shown: str, lock: Connection[Cursor], snap: Connection[Cursor],
             dump_tool: DumpTool, dump_path: Path, *, source: SourceVersions, now: datetime | None,
             segment_rows: int) -> MysqlManifest:
    database = target.database
    scratch = Path(tempfile.mkdtemp(prefix="restoreproof-mysql-capture-"))
    partial = dump_path.with_name(f".{dump_path.name}.partial")
    dump: DumpRun | None = None
    try:
        options = write_option_file(scratch / "client.cnf", target.client_options())
        with lock.cursor() as lock_cur, snap.cursor() as cur:
            measure.pin_session(cur)
            cur.execute(measure.TABLES_SQL, (database,))
            tables = [row[0] for row in cur.fetchall()]
            lock_cur.execute("SET SESSION lock_wait_timeout = %s", (LOCK_WAIT_SECONDS,))
            if tables:
                lock_cur.execute("LOCK TABLES " + ", ".join(
                    f"{quote_identifier(database)}.{quote_identifier(t)} READ" for t in tables))
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            captured_at = now or datetime.now(UTC)
            counters = measure.read_auto_increments(cur, database)  # before the dump reads them: never ahead
            dump = DumpRun([str(dump_tool.path), f"--defaults-file={options}", *DUMP_OPTIONS,
                            *_flavour_options(dump_tool), database], partial)
            opened = dump.snapshot_open.wait(LOCK_WAIT_SECONDS)
            lock_cur.execute("UNLOCK TABLES")
            if not opened:
                raise CaptureError(f"capture mysql: {dump_tool.path.name} did not open its snapshot of {shown} within "
                                   f"{LOCK_WAIT_SECONDS}s", hint="check the server's load and the dump's privileges")
            facts = measure.measure_database(cur, database, auto_increments=counters,
                                             segment_rows=segment_rows)
            cur.execute("ROLLBACK")
        code = dump.finish()
        if code != 0 or dump.copy_error:
            errors = [dump.copy_error] if dump.copy_error else dump.error_lines()
            raise CaptureError(f"capture mysql: {dump_tool.path.name} of {shown} failed (exit {code}): "
                               + " | ".join(errors)[-2000:],
                               hint="check the user's privileges (SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT) "
                               "and the disk space of --out")
        manifest = MysqlManifest(
            tool_version=__version__, captured_at=captured_at, database=database, consistency=CONSISTENCY,
            artifact=ManifestArtifact(name=dump_path.name, sha256=sha256_file(partial), bytes=partial.stat().st_size,
                                      format="sql.gz"),
            facts=facts, source=source,
        )
        os.replace(partial, dump_path)
        return manifest
    except BaseException:
        if dump is not None:
            dump.kill()
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class SourceServer:
    """The server being captured, as it says: VERSION() and @@version_comment."""

    version: str  # "10.11.19-MariaDB-0+deb12u1", "8.0.36", "8.0.mysql_aurora.3.05.2"
    comment: str  # "Debian 12", "MySQL Community Server - GPL", "Percona Server (GPL), Release 28, ..."

    @property
    def flavour(self) -> Literal["mariadb", "mysql"]:
        return "mariadb" if "mariadb" in f"{self.version} {self.comment}".lower() else "mysql"

    @property
    def release(self) -> tuple[int, int]:
        return version_tuple(self.version.removeprefix("5.5.5-"))

    @property
    def label(self) -> str:
        return f"{LABELS[self.flavour]} {self.version}"


def read_server(conn: Connection[Cursor], shown: str) -> SourceServer:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@version_comment")
        row = cur.fetchone()
    server = SourceServer(str(row[0]), str(row[1] or "")) if row else SourceServer("", "")
    try:
        server.release  # noqa: B018 - read for its ValueError: a version we cannot place picks no tool
    except ValueError:
        raise CaptureError(f"capture mysql: {shown} says its version is {server.version!r}, not a MySQL or MariaDB "
                           "release", hint="capture from the MySQL/MariaDB server itself, not a proxy that "
                           "rewrites its version") from None
    return server


def dump_tool_for(server: SourceServer, bin_dir: str | None) -> DumpTool:
    """The dump tool of the source server's flavour at the lowest release at least its own (one the user named
    first), else the nearest other; which one, and why when it is not the server's own, is said on stderr."""
    try:
        tool = choose_dump_tool(find_dump_tools(bin_dir), flavour=server.flavour, release=server.release,
                                server=server.label)
    except NoSuitableServerError as exc:
        raise CaptureError(f"capture mysql: {exc.message}", hint=exc.hint) from None
    print(f"capture mysql: {tool.describe()} for a {server.label} server{_unlike_the_server(tool, server)}",
          file=sys.stderr)
    return tool


def _unlike_the_server(tool: DumpTool, server: SourceServer) -> str:
    """Why the dump tool is not of the server's own flavour and release, and what that may cost; '' when it is."""
    wanted, label = series(server.flavour, server.release), LABELS[server.flavour]
    named = ("the one --bin-dir names" if tool.origin == DUMP_BIN_DIR
             else "the one RESTOREPROOF_MYSQL_BIN_DIR names" if tool.named else "")
    install = f" — install {dump_package(server.flavour, server.release)} to dump with the server's own"
    if tool.flavour != server.flavour:
        why = named or f"no {label} dump tool here, so {LABELS[tool.flavour]}'s"
        caveat = (", and MySQL's own client cannot read a recent mariadb-dump's first line (its sandbox-mode "
                  "comment)" if server.flavour == "mysql" else "")
        return f": {why}, which may leave out what only {label} has{caveat}{install}"
    if tool.release < server.release:
        why = named or f"no {wanted} or newer dump tool here, so the nearest older"
        return f": {why}, which may not know what {wanted} added{install}"
    if tool.release > server.release:
        why = named or f"no {wanted} dump tool here, so the nearest newer"
        return f": {why}, whose dump may hold statements a {wanted} client does not know"
    return ""


def _flavour_options(dump_tool: DumpTool) -> list[str]:
    """MySQL's mysqldump: no GTID_PURGED statement (a sandbox is no replica) and, from 8.0 (where the option came
    in), no column statistics (MariaDB servers have none)."""
    if dump_tool.flavour == "mariadb":
        return []
    return ["--set-gtid-purged=OFF"] + (["--column-statistics=0"] if dump_tool.release >= (8, 0) else [])


def _connect(target: MysqlTarget, shown: str) -> Connection[Cursor]:
    try:
        return pymysql.connect(**target.connect_kwargs(), autocommit=True)
    except pymysql.err.MySQLError as exc:
        raise CaptureError(f"capture mysql: cannot connect to {shown}: {_first_line(exc)}",
                           hint="check the DSN, the network path and the credentials") from None


def _first_line(exc: BaseException) -> str:
    args: tuple[object, ...] = exc.args
    text = f"{args[1]} (error {args[0]})" if len(args) == 2 else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture mysql`: write the dump and its manifest; say where."""
    dump, manifest = capture_mysql(args.dsn, args.out, name=args.name, bin_dir=args.bin_dir,
                                   segment_rows=args.segment_rows, snapshot_id=args.snapshot_id)
    return f"backup:   {dump}\nmanifest: {manifest}"
