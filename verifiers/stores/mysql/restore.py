"""Restore a SQL dump into a sandbox server: the `mariadb` / `mysql` client reads it on stdin, stops at the
first error, and every error line it prints is surfaced with row values redacted. A dump that ends without
mysqldump's closing `-- Dump completed` comment is reported as truncated even when what is there ran."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from verifiers import progress
from verifiers.diskspace import full_when_failed
from verifiers.sources import CHUNK
from verifiers.stores.mysql.archive import TRAILER, DumpHeader
from verifiers.stores.mysql.network_server import MysqlTarget
from verifiers.stores.mysql.rowhash import quote_identifier
from verifiers.stores.restore_tool import RestoreOutcome, StderrLines
from verifiers.timing import RESTORE_STEPS, UNTIMED, StepClock

TAIL_BYTES = 512
NOT_SPLIT = ("a mysqldump is one SQL stream the client runs in order: each table is created with its indexes and "
             "filled right after, so its schema, rows and indexes are not restored apart")

# Server messages quote the offending value or statement text; a report must not carry row contents.
_REDACTIONS = (
    (re.compile(r"(near )'.*'( at line \d+)\s*$"), r"\1'<redacted>'\2"),
    (re.compile(r"(near )'(?!<redacted>' at line \d+\s*$).*"), r"\1'<redacted>'"),
    (re.compile(r"(Duplicate entry )'.*?'( for key)"), r"\1'<redacted>'\2"),
    (re.compile(r"(value: )'.*?'( for column|$)"), r"\1'<redacted>'\2"),
    (re.compile(r"(Incorrect \w+ value: )'.*?'"), r"\1'<redacted>'"),
    (re.compile(r"(Truncated incorrect \w+ value: )'.*?'"), r"\1'<redacted>'"),
)

# Only the client's own message lines: on an error it also echoes the failing statement (row values) between
# `--------------` rulers, which must never reach a report.
_ERROR_LINE = re.compile(r"^(ERROR \d+|ERROR:|Warning|WARNING|(mariadb|mysql)\S*: )")


def redact(line: str) -> str:
    for pattern, replacement in _REDACTIONS:
        line = pattern.sub(replacement, line)
    return line


def create_database(server: MysqlTarget, name: str, *, charset: str, collation: str) -> None:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = %s "
                        "AND CHARACTER_SET_NAME = %s", (collation, charset))
            row = cur.fetchone()
            known = bool(row and row[0])
            # A collation this server lacks (MySQL 8's utf8mb4_0900_* on MariaDB) is the dump's to report.
            suffix = f" CHARACTER SET {charset} COLLATE {collation}" if known and _plain(charset, collation) else ""
            cur.execute(f"CREATE DATABASE {quote_identifier(name)}{suffix}")
    finally:
        conn.close()


def _plain(*names: str) -> bool:
    return all(re.fullmatch(r"\w+", n) for n in names)


def restore_dump(server: MysqlTarget, artifact: Path, header: DumpHeader, *, database: str, timeout: float,
                 work_dir: Path, steps: StepClock = UNTIMED) -> RestoreOutcome:
    for step in RESTORE_STEPS:
        steps.not_measured(step, NOT_SPLIT)
    tool = server.installation.tool("client")
    name = tool.name if tool else "mysql"
    argv = [*server.client_argv("client"), "--binary-mode", f"--database={database}"]
    deadline = time.monotonic() + timeout
    stream_errors: list[str] = []
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            process_group=0)
    assert proc.stdin is not None and proc.stderr is not None
    stderr = StderrLines(proc.stderr, keep=lambda line: _ERROR_LINE.match(line) is not None)
    timed_out = False
    try:
        timed_out = _feed(proc.stdin, artifact, header, deadline, stream_errors)
        if not timed_out:
            proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
    except BrokenPipeError:
        proc.wait()  # the client stopped at an error: its exit code and stderr say which
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    errors = [redact(line.strip()) for line in stderr.finish()] + stream_errors
    if proc.returncode != 0 and not timed_out and (full := full_when_failed(work_dir, name)):
        errors.append(full)
    return RestoreOutcome(tool=name, exit_code=None if timed_out else proc.returncode, error_lines=errors,
                          timed_out=timed_out, timeout_seconds=timeout)


def _feed(stdin: IO[bytes], artifact: Path, header: DumpHeader, deadline: float, errors: list[str]) -> bool:
    """Stream the dump into the client; True when the deadline passed first. Records a corrupt gzip stream
    and a missing closing comment in `errors` (the client may well have run what it got without complaint)."""
    tail = b""
    complete = False
    fed = progress.task("bytes")  # of the file as stored (compressed or not): its size is the total
    try:
        with artifact.open("rb") as raw, (gzip.GzipFile(fileobj=raw, mode="rb") if header.gzip else raw) as fh:
            fed.update(0, total=os.fstat(raw.fileno()).st_size)
            while chunk := fh.read(CHUNK):
                if time.monotonic() > deadline:
                    return True
                tail = (tail + chunk)[-TAIL_BYTES:]
                stdin.write(chunk)
                fed.update(raw.tell())
        complete = True
    except BrokenPipeError:
        raise
    except (OSError, EOFError) as exc:
        errors.append(f"{artifact.name}: the gzip stream is corrupt or truncated: {exc}")
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
    if complete and TRAILER not in tail:
        errors.append(f"{artifact.name}: ends without the dump's closing `-- Dump completed` line: "
                      "the dump is truncated (or was written with --skip-comments)")
    return False
