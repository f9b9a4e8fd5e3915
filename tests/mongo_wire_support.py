"""MongoDB-wire-compatible servers for the mongo store's end-to-end tests where no mongod exists (issue 26):
mongoeco 4.11 (a Python >= 3.13 package), each server a process of the interpreter RESTOREPROOF_MONGOECO_PYTHON
names, in its own process group, killed at the end of the session.

Where the restore goes is `restore_sandbox()`: one place, so that moving from the external sandbox (scratch
databases on a second mongoeco server, as now) to the product's own mongoeco sandbox is a one-line change."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from pymongo import MongoClient

PYTHON_ENV = "RESTOREPROOF_MONGOECO_PYTHON"
SKIP_REASON = "no Python 3.13 with mongoeco: run make"
START_TIMEOUT = 60.0
# The server: a free loopback port, its URI on the first line of stdout, then serving until killed.
SERVE = """
import asyncio
from mongoeco.wire import AsyncMongoEcoProxyServer

async def main():
    server = AsyncMongoEcoProxyServer(host="127.0.0.1", port=0)
    address = await server.start()
    print(address.uri, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@dataclass(frozen=True)
class WireServer:
    """A running mongoeco server: its URI (no login: it has none) and its process group."""

    uri: str
    pgid: int
    username: str | None = None
    password: str | None = None

    def client(self, *, timeout_ms: int = 10_000) -> MongoClient[Any]:
        return MongoClient(self.uri, serverSelectionTimeoutMS=timeout_ms, appname="restoreproof-tests")

    def database_uri(self, database: str) -> str:
        """The URI naming one database (what `capture mongo` backs up alone)."""
        base, _, options = self.uri.partition("?")
        return f"{base.rstrip('/')}/{database}" + (f"?{options}" if options else "")


def mongoeco_python() -> Path:
    found = os.environ.get(PYTHON_ENV)
    if not found or not Path(found).is_file():
        pytest.skip(SKIP_REASON)
    return Path(found)


@contextlib.contextmanager
def mongoeco_server(python: Path) -> Iterator[WireServer]:
    # stderr to a file, not a pipe nobody reads while the server runs: a full pipe would stall the server
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([str(python), "-c", SERVE], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, process_group=0)
        try:
            yield WireServer(uri=_first_line(proc, stderr), pgid=proc.pid)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()


def _first_line(proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline().decode().strip()
            if line.startswith("mongodb://"):
                return line
        if proc.poll() is not None:
            break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    stderr.seek(0)
    raise RuntimeError(f"mongoeco did not start within {START_TIMEOUT:g} s (exit {proc.returncode}): "
                       f"{stderr.read().decode(errors='replace')[-2000:]}")


def restore_sandbox(target: WireServer) -> dict[str, Any]:
    """The store's `sandbox` setting for the end-to-end runs: for now scratch databases on a second mongoeco
    server (the external sandbox); later the product's own `{type = "local", server = "mongoeco"}`."""
    return {"type": "external", "dsn": target.uri, "allow_external": True}
