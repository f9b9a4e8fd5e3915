"""Capture at backup time: one exported snapshot shared by pg_dump and the manifest queries.

Both the dump and the manifest see exactly the same data, so a restored copy must match the manifest
to the row. The live database is only read: the transaction is READ ONLY and pg_dump takes no locks
beyond its own ACCESS SHARE.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from verifiers import __version__
from verifiers.errors import CaptureError
from verifiers.sources import sha256_file
from verifiers.stores.key_ranges import DEFAULT_SEGMENT_ROWS, check_segment_rows
from verifiers.stores.postgres import measure
from verifiers.stores.postgres.archive import major_of, read_header
from verifiers.stores.postgres.checksum import pin_session
from verifiers.stores.postgres.local_server import PgInstallation, choose_installation, find_installations
from verifiers.stores.postgres.manifest import ManifestArtifact, PostgresManifest, SourceVersions, save_manifest
from verifiers.stores.postgres.parallel import Workers

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def redact_dsn(dsn: str) -> str:
    """The DSN as it may appear in a message: no password."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if "password" in params:
        params["password"] = "***"  # noqa: S105 - the mask, not a password
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


def _client_env(dsn: str) -> tuple[str, dict[str, str]]:
    """pg_dump's connection: the DSN without its password, the password in PGPASSWORD (never on argv)."""
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if password := params.pop("password", None):
        env["PGPASSWORD"] = password
    return make_conninfo(**params), env


def capture_postgres(dsn: str, out_dir: Path, *, name: str | None = None, bin_dir: str | None = None,
                     now: datetime | None = None, segment_rows: int = DEFAULT_SEGMENT_ROWS,
                     snapshot_id: str | None = None) -> tuple[Path, Path]:
    """Write NAME-<stamp>.dump and NAME-<stamp>.manifest.json into `out_dir`; return both paths. `snapshot_id`: the
    RDS snapshot taken with it, recorded in the manifest."""
    check_segment_rows("postgres", segment_rows)
    shown = redact_dsn(dsn)
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CaptureError(f"capture postgres: --name {name!r} is not a plain file name",
                           hint="use letters, digits, '.', '_' and '-'")
    try:
        conn = psycopg.connect(dsn, autocommit=False)
    except psycopg.Error as exc:
        raise CaptureError(f"capture postgres: cannot connect to {shown}: {_first_line(exc)}",
                           hint="check the DSN, the network path and the credentials") from None
    with conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_row = conn.execute("SELECT pg_export_snapshot(), current_database(), "
                                    "current_setting('server_version')").fetchone()
        assert snapshot_row is not None
        snapshot, database, server_version = snapshot_row
        stem = f"{name or database}-{(now or datetime.now(UTC)).strftime(STAMP_FORMAT)}"
        out_dir.mkdir(parents=True, exist_ok=True)
        dump_path, manifest_path = out_dir / f"{stem}.dump", out_dir / f"{stem}.manifest.json"
        if dump_path.exists() or manifest_path.exists():
            raise CaptureError(f"capture postgres: {dump_path} already exists; refusing to overwrite a backup")
        installation = dump_tool_for(server_version, bin_dir)
        partial = dump_path.with_name(f".{dump_path.name}.partial")
        dump: subprocess.Popen[bytes] | None = None
        try:
            pin_session(conn)
            sequences = measure.read_sequences(conn)  # before pg_dump reads them: the dump's are never behind these
            dump = _start_pg_dump(installation.tool("pg_dump"), dsn, snapshot, partial)
            facts = measure.measure_database(conn, sequences=sequences, segment_rows=segment_rows,
                                             workers=Workers.sized_to_cores(dsn, snapshot))
            _, stderr = dump.communicate()
            if dump.returncode != 0:
                raise CaptureError(
                    f"capture postgres: pg_dump of {shown} failed (exit {dump.returncode}): "
                    f"{stderr.decode('utf-8', 'replace').strip()[-2000:]}",
                    hint="check the role can read every table (pg_read_all_data) and pg_dump's version",
                )
            conn.rollback()
            source = SourceVersions(server_version=server_version, dump_tool_version=installation.version,
                                    dump_tool=f"pg_dump {installation.version} ({installation.origin}, "
                                    f"{installation.bin_dir})",
                                    archive_version=read_header(partial).archive_version)
            manifest = PostgresManifest(
                tool_version=__version__,
                captured_at=now or datetime.now(UTC),
                database=database,
                artifact=ManifestArtifact(name=dump_path.name, sha256=sha256_file(partial),
                                          bytes=partial.stat().st_size, format="custom"),
                facts=facts,
                source=source,
                snapshot_id=snapshot_id,
            )
            os.replace(partial, dump_path)
            save_manifest(manifest, manifest_path)
        except BaseException:
            if dump is not None and dump.poll() is None:
                dump.kill()
                dump.wait()
            partial.unlink(missing_ok=True)
            dump_path.unlink(missing_ok=True)
            raise
    return dump_path, manifest_path


def dump_tool_for(server_version: str, bin_dir: str | None) -> PgInstallation:
    """The pg_dump of the source server's own major where one is installed, else the nearest newer (pg_dump
    cannot dump a newer server): its archive is then one the team's own pg_restore of that major can read in a
    real recovery. Which one was used is said on stderr and recorded in the manifest."""
    installation = choose_installation(find_installations(bin_dir, None), min_major=major_of(server_version),
                                       tools=("pg_dump",), purpose=f"dump a PostgreSQL {server_version} server")
    same = installation.major == major_of(server_version)
    print(f"capture postgres: pg_dump {installation.version} ({installation.origin}) for a PostgreSQL "
          f"{server_version} server" + ("" if same else f": no pg_dump {major_of(server_version)} here, so its "
          f"archive needs pg_restore {installation.major} or newer"), file=sys.stderr)
    return installation


def _start_pg_dump(pg_dump: Path, dsn: str, snapshot: str, out: Path) -> subprocess.Popen[bytes]:
    conninfo, env = _client_env(dsn)
    argv = [str(pg_dump), "--format=custom", "--no-password", f"--snapshot={snapshot}",
            f"--file={out}", f"--dbname={conninfo}"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, process_group=0)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture postgres`: write the dump and its manifest; say where."""
    dump, manifest = capture_postgres(args.dsn, args.out, name=args.name, bin_dir=args.bin_dir,
                                      segment_rows=args.segment_rows, snapshot_id=args.snapshot_id)
    return f"backup:   {dump}\nmanifest: {manifest}"
