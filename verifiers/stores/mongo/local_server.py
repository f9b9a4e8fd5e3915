"""A disposable local `mongod`: a private 0700 dbpath, a free loopback port, no unix socket, its own process
group, an unprivileged user when the harness is root; stopped and deleted on every exit path.

Which mongod runs it is found by verifiers/stores/mongo/installations.py.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.process import ServerProcess, unprivileged_user
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.user_access import private_workdir
from verifiers.stores.mongo.installations import MongodInstallation
from verifiers.stores.mongo.namespaces import NamespaceMap

USER_FALLBACKS = ("mongodb", "nobody")
WORKDIR_PREFIX = "restoreproof-mongo-"
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class MongoServer:
    """A running sandbox server, as the store's code sees it (local process or container alike)."""

    uri: str  # never with a password in it: that travels apart (a container's root login)
    info: SandboxInfo
    pgid: int | None = None
    workdir: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # where the dump's databases go on this server (the identity for a server of the harness's own)
    namespaces: NamespaceMap = field(default_factory=NamespaceMap)

    def tool_connection(self) -> tuple[list[str], dict[str, str]]:
        """The database tools' connection arguments, and what goes in their 0600 `--config` file instead
        (YAML keys `password`, `uri`: never on a command line)."""
        args = [f"--uri={self.uri}"]
        if self.username:
            args += [f"--username={self.username}", "--authenticationDatabase=admin"]
        return args, ({"password": self.password} if self.password else {})

    def client(self, *, timeout_ms: int = 10_000) -> MongoClient[Any]:
        login: dict[str, Any] = {}
        if self.username:
            login = {"username": self.username, "password": self.password, "authSource": "admin"}
        return MongoClient(self.uri, directConnection=True, serverSelectionTimeoutMS=timeout_ms,
                           connectTimeoutMS=timeout_ms, appname="restoreproof", **login)


def ping(uri: str) -> bool:
    return ping_server(MongoServer(uri=uri, info=SandboxInfo(type="local", engine="mongodb", version="?")))


def ping_server(server: MongoServer) -> bool:
    client = server.client(timeout_ms=500)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


DEFAULT_READINESS = Readiness()


@contextmanager
def local_mongod(found: MongodInstallation, *, user_name: str | None = None,
                 readiness: Readiness = DEFAULT_READINESS) -> Iterator[MongoServer]:
    user = unprivileged_user(user_name, USER_FALLBACKS)
    workdir = private_workdir(WORKDIR_PREFIX, user)
    try:
        data = workdir / "data"
        try:
            data.mkdir(mode=0o700)
            if user:
                user.own(data)
        except OSError as exc:
            raise SandboxError(f"cannot prepare the mongod sandbox in {workdir}: {exc}") from None
        port = free_port()
        argv = [str(found.mongod), "--dbpath", str(data), "--port", str(port), "--bind_ip", "127.0.0.1",
                "--nounixsocket", "--wiredTigerCacheSizeGB", "0.25", "--setParameter",
                "diagnosticDataCollectionEnabled=false"]
        server = ServerProcess(argv, log_path=workdir / "mongod.log", user=user,
                               env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, cwd=workdir)
        try:
            uri = f"mongodb://127.0.0.1:{port}/"
            readiness.wait(lambda: ping(uri), what=f"{found.describe()} sandbox", alive=server.alive,
                           log_tail=server.log_tail,
                           hint="see the log above; raise sandbox.start_timeout or set sandbox.bin_dir")
            yield MongoServer(uri=uri, info=SandboxInfo(type="local", engine="mongodb", version=found.version),
                              pgid=server.pid, workdir=workdir)
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
