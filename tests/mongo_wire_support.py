"""MongoDB-wire-compatible servers for the mongo store's end-to-end tests where no mongod exists (issue 26):
mongoeco 4.11 (a Python >= 3.13 package that `make mongoeco` installs), each server started by the product's own
mongoeco sandbox (verifiers/stores/mongo/wire_server.py: its own process group, the sandbox user when root), so
the tests' servers and the harness's are started one way.

Where the restore goes is `restore_sandbox()`: the product's `{type = "local", server = "mongoeco"}`, or scratch
databases on a second mongoeco server (the external sandbox)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pymongo import MongoClient

from verifiers.sandboxes.readiness import Readiness
from verifiers.stores.mongo.wire_installation import PYTHON_ENV, MongoecoInstallation, mongoeco_installation
from verifiers.stores.mongo.wire_server import local_mongoeco

REPO = Path(__file__).resolve().parents[1]
MISSING = ("mongoeco is not installed: install a Python >= 3.13 (e.g. `pyenv install 3.13`) and run `make mongoeco`, "
           f"or set {PYTHON_ENV} to a Python >= 3.13 with mongoeco==4.11.0 and pymongo==4.20.1")
START_TIMEOUT = 60.0


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
    """The interpreter `make mongoeco` made (RESTOREPROOF_MONGOECO_PYTHON, else the checkout's .cache/mongoeco)."""
    named = os.environ.get(PYTHON_ENV) or str(REPO / ".cache" / "mongoeco" / "bin" / "python")
    if not Path(named).is_file():  # a missing server fails, saying what to install (only mongod/Docker skip)
        pytest.fail(f"{MISSING}: {named} does not exist")
    return Path(named)


def mongoeco(python: Path) -> MongoecoInstallation:
    return mongoeco_installation(str(python.parent))


@contextlib.contextmanager
def mongoeco_server(python: Path) -> Iterator[WireServer]:
    with local_mongoeco(mongoeco(python), readiness=Readiness(timeout=START_TIMEOUT)) as server:
        assert server.pgid is not None
        yield WireServer(uri=server.uri, pgid=server.pgid)


Sandbox = Literal["local", "external"]


def restore_sandbox(target: WireServer, kind: Sandbox = "local") -> dict[str, Any]:
    """The store's `sandbox` setting for the end-to-end runs: the product's own mongoeco sandbox (a fresh server per
    run), or scratch databases on `target`, a second mongoeco server that holds data of its own."""
    if kind == "local":
        return {"type": "local", "server": "mongoeco", "bin_dir": str(Path(mongoeco_python()).parent)}
    return {"type": "external", "dsn": target.uri, "allow_external": True}
