"""A disposable mongoeco sandbox: mongoeco_serve.py run by mongoeco's interpreter on a free loopback port (it
writes the port it bound into the private 0700 workdir), in memory (no data directory), its own process group,
the unprivileged sandbox user when the harness is root; stopped and deleted on every exit path, as
local_server.py's mongod is.

mongoeco is a MongoDB wire-protocol server written in Python, not MongoDB: the evidence names it as such
(engine "mongoeco", and what it reports itself to be), and a store gets it only by asking for it.

As root the server runs as the sandbox user, who cannot enter a private clone (its .cache/mongoeco) nor /root
(where pyenv keeps the interpreter the virtualenv's `python` links to). Rather than loosen those directories,
what it runs is staged (verifiers/sandboxes/staging.py, hard links): the real interpreter's tree
(sys.base_prefix: the binary, libpython, the standard library) and the site-packages holding mongoeco and
pymongo. The staged interpreter is started isolated and without `site` (-I -S), so that it reads no pyvenv.cfg
and no environment; the serve script adds the site-packages itself. Its libpython is found through
LD_LIBRARY_PATH, since a pyenv build's RUNPATH names the unstaged /root path. The serve script is copied into
the workdir, which the sandbox user owns.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo.errors import PyMongoError

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.process import RunAs, ServerProcess, unprivileged_user
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.staging import staged
from verifiers.sandboxes.user_access import blocked, private_workdir
from verifiers.stores.mongo.engine import server_engine
from verifiers.stores.mongo.local_server import USER_FALLBACKS, MongoServer, ping
from verifiers.stores.mongo.wire_installation import WHAT_IT_IS, MongoecoInstallation

SERVE_SCRIPT = Path(__file__).with_name("mongoeco_serve.py")
WORKDIR_PREFIX = "restoreproof-mongoeco-"
DEFAULT_READINESS = Readiness()


@dataclass(frozen=True)
class Launch:
    """What the sandbox user runs: an interpreter it can reach, the site-packages to add, and where the
    interpreter's own libraries are when it runs from a staged copy."""

    interpreter: Path
    sites: tuple[Path, ...]
    library_dir: Path | None = None

    def argv(self, script: Path, port_file: Path) -> list[str]:
        sites = [arg for site in self.sites for arg in ("--site", str(site))]
        return [str(self.interpreter), "-I", "-S", str(script), "--port-file", str(port_file), *sites]


def launch_for(found: MongoecoInstallation, user: RunAs | None) -> Launch:
    """The installation as `user` can run it: as it is where it can reach it, else from staged copies."""
    if user is None or blocked(found.interpreter, user, needs="execute") is None:
        base, interpreter, library_dir = None, found.interpreter, None
    else:
        if not found.interpreter.is_relative_to(found.base_prefix):
            raise SandboxError(f"the sandbox user {user.name} cannot run {found.interpreter}, and it lies outside "
                               f"its Python's tree {found.base_prefix}, which could be staged",
                               hint="install mongoeco's virtualenv from a Python every user can reach")
        base = staged(found.base_prefix, user)
        interpreter, library_dir = base / found.interpreter.relative_to(found.base_prefix), base / "lib"
    sites = []
    for site in found.sites:
        if user is None or blocked(site, user) is None:
            sites.append(site)
        elif base is not None and site.is_relative_to(found.base_prefix):
            sites.append(base / site.relative_to(found.base_prefix))
        else:
            sites.append(staged(site, user))
    return Launch(interpreter=interpreter, sites=tuple(sites), library_dir=library_dir)


def info(found: MongoecoInstallation, reported: str) -> SandboxInfo:
    return SandboxInfo(type="local", engine="mongoeco", version=found.version, details={
        "server": f"mongoeco {found.version} ({WHAT_IT_IS})", "reports_mongodb_version": reported,
        "python": found.python_version})


@contextmanager
def local_mongoeco(found: MongoecoInstallation, *, user_name: str | None = None,
                   readiness: Readiness = DEFAULT_READINESS) -> Iterator[MongoServer]:
    user = unprivileged_user(user_name, USER_FALLBACKS)
    workdir = private_workdir(WORKDIR_PREFIX, user)
    try:
        launch = launch_for(found, user)
        script, port_file = workdir / SERVE_SCRIPT.name, workdir / "port"
        try:
            shutil.copyfile(SERVE_SCRIPT, script)
            script.chmod(0o644)
        except OSError as exc:
            raise SandboxError(f"cannot prepare the mongoeco sandbox in {workdir}: {exc}") from None
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        if launch.library_dir is not None:
            env["LD_LIBRARY_PATH"] = str(launch.library_dir)
        server = ServerProcess(launch.argv(script, port_file), log_path=workdir / "mongoeco.log", user=user,
                               env=env, cwd=workdir)
        try:
            uri = _wait_ready(server, port_file, found, readiness)
            yield MongoServer(uri=uri, info=info(found, _reported_version(uri)), pgid=server.pid, workdir=workdir)
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(server: ServerProcess, port_file: Path, found: MongoecoInstallation, readiness: Readiness) -> str:
    """The server's URI once it answers a ping on the port it wrote."""
    uri = ""

    def answers() -> bool:
        nonlocal uri
        try:
            port = int(port_file.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return False
        uri = f"mongodb://127.0.0.1:{port}/"
        return ping(uri)

    readiness.wait(answers, what=f"{found.describe()} sandbox", alive=server.alive, log_tail=server.log_tail,
                   hint=f"see the log above; check {found.python} with `restoreproof doctor`, or raise "
                        "sandbox.start_timeout")
    return uri


def _reported_version(uri: str) -> str:
    """The MongoDB version mongoeco answers as (buildInfo), which is what clients and tools adapt to."""
    server = MongoServer(uri=uri, info=SandboxInfo(type="local", engine="mongoeco", version="?"))
    client = server.client()
    try:
        return server_engine(client).speaks
    except PyMongoError as exc:
        raise SandboxError(f"mongoeco at {uri} answered ping but not buildInfo: {type(exc).__name__}") from None
    finally:
        client.close()
