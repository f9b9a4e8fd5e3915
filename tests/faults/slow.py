"""Backups that hold the harness in one phase for as long as a test needs, so that a fault (a signal, a
timeout, a killed server) lands in that phase for sure, not by timing luck:

- fetch:   the artifact is a named pipe; hashing it blocks until the test writes (it never does);
- restore: a plain SQL dump whose one statement sleeps (pg_sleep / SLEEP) — psql and mariadb run it;
           for an RDB, a `redis-check-rdb` beside the real server that hangs (the check runs before loading);
- verify:  an assertion that sleeps, run by the harness in the restored sandbox.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import tempfile
from pathlib import Path

from verifiers.sources import sha256_file

SLEEP_SECONDS = 120


def claim(manifest: Path, artifact: Path, target: Path) -> Path:
    """A copy of `manifest` naming `artifact` (its sha256 and size), keeping the captured facts."""
    data = json.loads(manifest.read_text())
    data["artifact"].update(name=artifact.name, sha256=sha256_file(artifact), bytes=artifact.stat().st_size)
    target.write_text(json.dumps(data))
    return target


def fifo_backup(directory: Path, name: str, manifest: Path) -> Path:
    """A named pipe under a backup's name, with a manifest beside it: fetch blocks reading it."""
    path = directory / name
    os.mkfifo(path)
    stem = name.split(".")[0]
    (directory / f"{stem}.manifest.json").write_bytes(manifest.read_bytes())
    return path


def writer_when_read(fifo: Path) -> int | None:
    """An open write end once the harness has the pipe open for reading (so it now blocks in read), else None."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None  # ENXIO: nobody reads it yet


def slow_postgres_dump(directory: Path, manifest: Path, name: str = "saas-slow") -> Path:
    dump = directory / f"{name}.sql"
    dump.write_text("-- PostgreSQL database dump\n-- Dumped from database version 15.0\n"
                    f"-- Dumped by pg_dump version 15.0\nSELECT pg_sleep({SLEEP_SECONDS});\n")
    claim(manifest, dump, directory / f"{name}.manifest.json")
    return dump


def slow_mysql_dump(directory: Path, capture_dump: Path, manifest: Path, name: str = "shop-slow") -> Path:
    """The captured dump's header comment (it picks the server), then a statement that sleeps."""
    head = gzip.decompress(capture_dump.read_bytes()).split(b"\n/*!40101", 1)[0]
    dump = directory / f"{name}.sql"
    dump.write_bytes(head + f"\nSELECT SLEEP({SLEEP_SECONDS});\n-- Dump completed on 2026-11-26  2:00:00\n".encode())
    claim(manifest, dump, directory / f"{name}.manifest.json")
    return dump


def hanging_redis_bin_dir(server: Path) -> Path:
    """A bin dir with the real server and a `redis-check-rdb` that hangs: the restore's first step never ends.
    Under the session's world-traversable temp root, as the sandbox user runs both."""
    bin_dir = Path(tempfile.mkdtemp(prefix="rp-test-bin-"))
    bin_dir.chmod(0o755)
    (bin_dir / server.name).symlink_to(server)
    checker = bin_dir / ("valkey-check-rdb" if "valkey" in server.name else "redis-check-rdb")
    checker.write_text(f"#!/bin/sh\nexec sleep {SLEEP_SECONDS * 2}\n")
    checker.chmod(checker.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    return bin_dir
