"""Restore a pg_dump artifact into a sandbox server, surfacing every error line (with row values redacted)."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from verifiers import progress
from verifiers.diskspace import full_when_failed
from verifiers.sources import CHUNK
from verifiers.stores.postgres.archive import DumpFormat, DumpHeader
from verifiers.stores.postgres.network_server import NetworkPostgres, PostgresTarget
from verifiers.stores.restore_tool import RestoreOutcome, StderrLines
from verifiers.timing import RESTORE_STEPS, UNTIMED, StepClock

RESTORE_DATABASE = "restoreproof_restored"

# Server messages quote the offending value; a report must not carry row contents, so those are cut.
_REDACTIONS = (
    (re.compile(r'(invalid input (?:syntax|value) for [^:]*: )".*"'), r'\1"<redacted>"'),
    (re.compile(r"(COPY [^,]+, line \d+(?:, column [^:]+)?): .*"), r"\1: <redacted>"),
    (re.compile(r"(Key \([^)]*\))=\(.*?\)( |$)"), r"\1=(<redacted>)\2"),
    (re.compile(r"(Failing row contains ).*"), r"\1(<redacted>)"),
    (re.compile(r'(value too long for type [^:]*|out of range[^:]*): ".*"'), r'\1: "<redacted>"'),
)
# pg_restore --verbose prints one of these for each TOC entry it restores, serially and under --jobs alike.
# Under --jobs the workers share stderr and write a message's "pg_restore: " prefix and its text separately, so
# two messages can interleave ("pg_restore: pg_restore: creating A" then "creating B"): count every message
# text that starts a line or follows a prefix, not just whole lines.
_ITEM = re.compile(rb"(?:^|pg_restore: )(?:creating |processing data for |executing SEQUENCE SET )")
FOLLOW_SECONDS = 0.25  # how often the progress shown is brought up to the entries counted
_ERROR_LINE = re.compile(r"(^pg_restore: error:|^psql:.*\bERROR:|^ERROR:|\bFATAL:|^pg_restore: \[)")
_CONTEXT_LINE = re.compile(r"\s*(DETAIL|CONTEXT|HINT|Command was|LINE \d+):?")
# pg_restore's last line when it ran every entry and some failed (no --exit-on-error): it went on, as it would
# have gone on into the next section in a single run. A fatal error (unreadable archive, lost connection) stops
# without it.
_ERRORS_IGNORED = re.compile(r"errors ignored on restore: \d+")
# One pg_restore run per section, in restore order, and the step each is timed as (verifiers/timing.py). The
# three together restore what one run restores: every TOC entry is in exactly one section.
SECTIONS = (("pre-data", "restore_schema"), ("data", "restore_data"), ("post-data", "restore_indexes"))
ONE_RUN_NOT_SPLIT = ("restore_sections = false: one pg_restore run, which loads rows and builds indexes at once, "
                     "so neither has a time of its own")
PLAIN_NOT_SPLIT = ("a plain-SQL dump is one psql script, its rows, indexes and constraints in script order: it has "
                   "no sections to restore apart (pg_restore --section needs a custom, directory or tar archive)")
_ROLE = re.compile(
    rb"(?:OWNER TO|GRANT [A-Z, ]+ ON [^;]* TO|REVOKE [A-Z, ]+ ON [^;]* FROM) ([A-Za-z_][\w$]*|\"[^\"]+\")"
)


def redact(line: str) -> str:
    for pattern, replacement in _REDACTIONS:
        line = pattern.sub(replacement, line)
    return line


def create_database(server: PostgresTarget, name: str = RESTORE_DATABASE, encoding: str = "UTF8") -> None:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                sql.Identifier(name), sql.Literal(encoding)
            )
        )


def restore_runs(header: DumpHeader, sections: bool) -> str:
    """How the restore runs, for the evidence: the RTO it measures depends on it (see restore_sections)."""
    if header.format is DumpFormat.PLAIN:
        return "one psql run"
    return "three pg_restore runs, one per section" if sections else "one pg_restore run"


def restore_dump(
    server: PostgresTarget,
    artifact: Path,
    header: DumpHeader,
    *,
    jobs: int | None,
    timeout: float,
    database: str = RESTORE_DATABASE,
    work_dir: Path,
    steps: StepClock = UNTIMED,
    sections: bool = True,
) -> RestoreOutcome:
    """Restore `artifact`; an archive in three pg_restore runs, one per section, each lapped on `steps` as it
    ends (SECTIONS), or without `sections` in one run; a plain dump in one psql run. Steps not lapped are
    recorded as not measured, with the reason."""
    if header.format is DumpFormat.PLAIN:
        for step in RESTORE_STEPS:
            steps.not_measured(step, PLAIN_NOT_SPLIT)
        _create_roles(server, _roles_in_plain(artifact, gzipped=header.gzip))
        return _run_psql(server, artifact, gzipped=header.gzip, timeout=timeout, database=database, work_dir=work_dir)
    return _run_pg_restore(server, artifact, header, jobs=jobs, timeout=timeout, database=database, work_dir=work_dir,
                           steps=steps, sections=sections)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def restore_jobs(header: DumpHeader, jobs: int | None) -> int:
    """The parallel jobs the restore of this archive runs: tar archives and plain SQL restore serially."""
    return (jobs or default_jobs()) if header.format in (DumpFormat.CUSTOM, DumpFormat.DIRECTORY) else 1


def _run_pg_restore(server: PostgresTarget, artifact: Path, header: DumpHeader, *, jobs: int | None,
                    timeout: float, database: str, work_dir: Path, steps: StepClock,
                    sections: bool) -> RestoreOutcome:
    """pg_restore once per section (SECTIONS), or once (not `sections`), within one deadline. As one run does
    without --exit-on-error, a section whose entries failed is followed by the next; a run that stopped (fatal
    error, timeout) ends it."""
    # Production roles do not exist in a sandbox: restore objects owned by the sandbox superuser.
    pg_restore = str(server.installation.tool("pg_restore"))
    argv = [pg_restore, "--no-owner", "--no-privileges", "--verbose", "--dbname", database]
    if header.format in (DumpFormat.CUSTOM, DumpFormat.DIRECTORY):  # tar archives cannot be restored in parallel
        argv += ["--jobs", str(restore_jobs(header, jobs))]
    items = progress.task("items")
    if items.active:
        items.update(0, total=toc_entries(pg_restore, artifact))
    deadline = time.monotonic() + timeout
    if not sections:
        for step in RESTORE_STEPS:
            steps.not_measured(step, ONE_RUN_NOT_SPLIT)
        return _run([*argv, str(artifact)], server, database=database, deadline=deadline, timeout=timeout,
                    stdin_from=None, work_dir=work_dir, tool="pg_restore", items=_ItemCount(items)).outcome
    runs: list[_Ran] = []
    for section, step in SECTIONS:
        last = section == SECTIONS[-1][0]
        ran = _run([*argv, f"--section={section}", str(artifact)], server, database=database, deadline=deadline,
                   timeout=timeout, stdin_from=None, work_dir=work_dir, tool="pg_restore",
                   items=_ItemCount(items, before=sum(r.counted for r in runs), completes=last))
        runs.append(ran)
        if not ran.went_on:
            break
        steps.lap(step)
    for _section, step in SECTIONS[len(runs) - (not runs[-1].went_on):]:
        steps.not_measured(step, "pg_restore stopped before this section ended: see the restore check")
    timed_out = runs[-1].outcome.timed_out
    failed = [r.outcome.exit_code for r in runs if r.outcome.exit_code]
    return RestoreOutcome(tool="pg_restore", exit_code=None if timed_out else (failed[0] if failed else 0),
                          error_lines=[line for r in runs for line in r.outcome.error_lines],
                          timed_out=timed_out, timeout_seconds=timeout)


def toc_entries(pg_restore: str, artifact: Path) -> int | None:
    """How many entries `pg_restore --list` shows (ACLs aside: --no-privileges skips them); None when it
    cannot say, which the restore itself then reports."""
    try:
        listed = subprocess.run([pg_restore, "--list", str(artifact)], capture_output=True, timeout=120,
                                check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    entries = [line for line in listed.stdout.splitlines() if line.strip() and not line.startswith(b";")]
    return sum(1 for line in entries if not re.match(rb"^\d+; \d+ \d+ (?:DEFAULT )?ACL ", line)) or None


def _run_psql(server: PostgresTarget, artifact: Path, *, gzipped: bool, timeout: float, database: str,
              work_dir: Path) -> RestoreOutcome:
    argv = [str(server.installation.tool("psql")), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
            "--dbname", database]
    if not gzipped:
        argv += ["--file", str(artifact)]
    return _run(argv, server, database=database, deadline=time.monotonic() + timeout, timeout=timeout,
                stdin_from=artifact if gzipped else None, work_dir=work_dir, tool="psql").outcome


@dataclass(frozen=True)
class _ItemCount:
    """pg_restore's progress over its runs: the entries earlier runs counted, and whether this run is the last
    (whose clean exit means every entry was restored)."""

    task: progress.Task
    before: int = 0
    completes: bool = True


@dataclass(frozen=True)
class _Ran:
    outcome: RestoreOutcome
    went_on: bool  # ran every entry: exit 0, or errors ignored (pg_restore's own summary line)
    counted: int  # entries its --verbose lines counted


def _run(argv: list[str], server: PostgresTarget, *, database: str, deadline: float, timeout: float,
         stdin_from: Path | None, work_dir: Path, tool: str, items: _ItemCount | None = None) -> _Ran:
    """Run a restore tool until it exits or `deadline` (monotonic) passes; `timeout` is what the outcome names."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE if stdin_from else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=server.client_env(database), process_group=0,
    )
    assert proc.stderr is not None
    stderr = StderrLines(proc.stderr, keep=_worth_keeping, counts=_ITEM if items is not None else None)
    timed_out = False
    stream_errors: list[str] = []
    try:
        if stdin_from is not None and proc.stdin is not None:
            timed_out = _feed_gzip(proc.stdin, stdin_from, deadline, stream_errors)
        if not timed_out:
            _wait(proc, deadline, stderr, items)
    except subprocess.TimeoutExpired:
        timed_out = True
    except BrokenPipeError:
        proc.wait()  # psql stopped reading (ON_ERROR_STOP): its exit code and stderr say why
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    kept = stderr.finish()
    errors = stream_errors + [redact(line) for line in _error_lines(kept)]
    if proc.returncode != 0 and not timed_out and (full := full_when_failed(work_dir, tool)):
        errors.append(full)
    went_on = not timed_out and (proc.returncode == 0 or any(_ERRORS_IGNORED.search(line) for line in kept))
    return _Ran(RestoreOutcome(tool=tool, exit_code=None if timed_out else proc.returncode, error_lines=errors,
                               timed_out=timed_out, timeout_seconds=timeout), went_on=went_on, counted=stderr.counted)


def _wait(proc: subprocess.Popen[bytes], deadline: float, stderr: StderrLines, items: _ItemCount | None) -> None:
    """Wait for the tool, showing pg_restore's progress from the per-entry --verbose lines counted so far;
    TimeoutExpired at the deadline, as Popen.wait would."""
    while True:
        try:
            proc.wait(max(0.0, min(FOLLOW_SECONDS, deadline - time.monotonic())))
            exited = True
        except subprocess.TimeoutExpired:
            exited = False
        if items is not None:
            # The count is a live estimate; the last run's clean exit is the fact that every entry was restored.
            total = items.task.total
            done = total if exited and proc.returncode == 0 and items.completes and total \
                else items.before + stderr.counted
            if done:
                items.task.update(min(done, total) if total else done)
        if exited:
            return
        if time.monotonic() >= deadline:
            raise subprocess.TimeoutExpired(proc.args, 0)


def _worth_keeping(line: str) -> bool:
    """The stderr lines `_error_lines` reads (the errors and the lines that give their context), and pg_restore's
    summary that it went on past failed entries."""
    return bool(_ERROR_LINE.search(line) or _CONTEXT_LINE.match(line) or _ERRORS_IGNORED.search(line))


def _error_lines(lines: list[str]) -> list[str]:
    """Error lines, each followed by its DETAIL/CONTEXT/Command was line for context."""
    out: list[str] = []
    keep_next = False
    for line in lines:
        if _ERROR_LINE.search(line):
            out.append(line.strip())
            keep_next = True
        elif keep_next and _CONTEXT_LINE.match(line):
            out.append("  " + line.strip())
        else:
            keep_next = False
    return out


def _feed_gzip(stdin: IO[bytes], path: Path, deadline: float, errors: list[str]) -> bool:
    """Stream a gzipped SQL dump into psql; True when the deadline passed first."""
    fed = progress.task("bytes")  # of the compressed file, whose size is known
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            fed.update(0, total=os.fstat(raw.fileno()).st_size)
            while chunk := gz.read(CHUNK):
                if time.monotonic() > deadline:
                    return True
                stdin.write(chunk)
                fed.update(raw.tell())
    except BrokenPipeError:
        raise
    except (OSError, EOFError) as exc:
        # A truncated or corrupt gzip stream: psql sees an incomplete script and may even succeed on it.
        errors.append(f"{path.name}: the gzip stream is corrupt or truncated: {exc}")
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
    return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _roles_in_plain(artifact: Path, *, gzipped: bool) -> set[str]:
    roles: set[str] = set()
    opener = gzip.open if gzipped else open
    try:
        with opener(artifact, "rb") as fh:
            for line in fh:
                if b" TO " in line or b" FROM " in line:
                    roles.update(m.decode("utf-8", "replace").strip('"') for m in _ROLE.findall(line))
    except (OSError, EOFError):
        pass  # a corrupt stream is reported by the restore itself
    return roles - {"PUBLIC", "public", "postgres", "CURRENT_USER", "SESSION_USER"}


def _create_roles(server: PostgresTarget, roles: set[str]) -> None:
    """A plain dump names its production roles (OWNER TO, GRANT); create them so the script runs as written."""
    if not roles:
        return
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        for role in sorted(roles):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                if isinstance(server, NetworkPostgres):
                    server.created_roles.append(role)  # an external server's sandbox drops them afterwards
