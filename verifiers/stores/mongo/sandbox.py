"""Which sandbox a mongo store is restored into, provisioned and torn down under the store's timer:
`local` (a mongod process, verifiers/stores/mongo/local_server.py; with `server = "mongoeco"`, the mongoeco
wire-protocol server, verifiers/stores/mongo/wire_server.py), `docker` (a MongoDB container on the shared
testcontainers seam, verifiers/stores/mongo/docker_server.py) or `external` (a mongod or replica set the user
provides, opted in: one marked scratch database per database of the dump, dropped afterwards,
verifiers/stores/mongo/external_server.py)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from verifiers.errors import SandboxError
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import DockerSandbox, ExternalSandbox, LocalSandbox
from verifiers.stores.mongo.installations import installation
from verifiers.stores.mongo.local_server import MongoServer, local_mongod
from verifiers.stores.mongo.manifest import MongoManifest
from verifiers.stores.mongo.settings import MongoLocalSandbox, MongoStore
from verifiers.stores.mongo.wire_installation import mongoeco_installation
from verifiers.stores.mongo.wire_server import local_mongoeco
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)


def default_image(manifest: MongoManifest) -> str:
    """The official image of the release the dump came from (major.minor), else the newest."""
    parts = (manifest.server_version or "").split(".")
    return f"mongo:{parts[0]}.{parts[1]}" if len(parts) >= 2 and parts[0].isdigit() else "mongo:latest"


def open_sandbox(store: MongoStore, manifest: MongoManifest,
                 databases: Sequence[str] | None = None) -> contextlib.AbstractContextManager[MongoServer]:
    """`databases`: those of the dump to restore (an external sandbox makes a scratch database for each);
    by default the manifest's."""
    settings = store.sandbox
    readiness = Readiness(timeout=settings.start_timeout)
    if isinstance(settings, MongoLocalSandbox) and settings.server == "mongoeco":
        return local_mongoeco(mongoeco_installation(settings.bin_dir), user_name=settings.user, readiness=readiness)
    if isinstance(settings, LocalSandbox):
        return local_mongod(installation(settings.bin_dir), user_name=settings.user, readiness=readiness)
    if isinstance(settings, DockerSandbox):
        from verifiers.stores.mongo.docker_server import docker_mongod

        return docker_mongod(settings.image or default_image(manifest), readiness=readiness)
    if isinstance(settings, ExternalSandbox):
        from verifiers.stores.mongo.external_server import external_mongod

        if databases is None:
            databases = sorted({namespace.partition(".")[0] for namespace in manifest.collections})
        return external_mongod(store.name, settings, databases, readiness=readiness)
    raise SandboxError(f"store {store.name}: sandbox type {settings.type!r} cannot restore a mongo store",
                       hint='use sandbox = "local" (a mongod on PATH), "docker", or an external server')


@contextlib.contextmanager
def mongo_sandbox(store: MongoStore, manifest: MongoManifest, timer: RestoreTimer, *,
                  databases: Sequence[str] | None = None) -> Iterator[MongoServer]:
    """The sandbox, its start timed as provision and its removal as teardown; a teardown failure after an
    earlier error is logged, never hiding that error."""
    with timed_sandbox(open_sandbox(store, manifest, databases), timer, store=store.name) as server:
        yield server
