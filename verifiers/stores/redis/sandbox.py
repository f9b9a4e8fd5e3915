"""Sandboxes for a redis store beyond the local server (stores/redis/__init__.py runs that one itself, with
check-rdb first): a container loading the RDB from its data dir. The measurement after this seam is the same.

An `external` server (one the user provides) cannot load the RDB itself: a running server loads an RDB only
from its own disk at start, which would replace its data. There the keys go in one by one with RESTORE, into a
server whose dbs are all empty, and are deleted again afterwards (verifiers/stores/redis/external_server.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from verifiers.errors import SandboxError
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import DockerSandbox, ExternalSandbox
from verifiers.stores.redis.external_server import external_redis
from verifiers.stores.redis.network_server import NetworkRedis, docker_redis
from verifiers.stores.redis.rdb import RdbHeader
from verifiers.stores.redis.settings import RedisStore
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)


def default_image(header: RdbHeader) -> str:
    """The official image of the release that wrote the RDB (its aux field), else the newest of its flavour."""
    writer = header.writer
    flavour = writer.flavor if writer else "valkey" if header.magic == "VALKEY" else "redis"
    repository = "valkey/valkey" if flavour == "valkey" else "redis"
    release = writer.release if writer else None
    return f"{repository}:{release[0]}.{release[1]}" if release else f"{repository}:latest"


@contextlib.contextmanager
def remote_server(store: RedisStore, header: RdbHeader, rdb: Path, timer: RestoreTimer) -> Iterator[NetworkRedis]:
    """The server loading the RDB, its start timed as the restore (starting it is loading the data, bounded by
    restore_timeout) and its removal as teardown."""
    settings = store.sandbox
    if isinstance(settings, ExternalSandbox):
        opened = external_redis(store.name, settings, header, rdb, timeout=store.restore_timeout)
        with timed_sandbox(opened, timer, store=store.name, start_phase="restore") as remote:
            yield remote
        return
    if not isinstance(settings, DockerSandbox):
        raise SandboxError(f"store {store.name}: no {settings.type} sandbox for redis stores",
                           hint='use sandbox = "local", "docker" or "external"')
    opening = docker_redis(settings.image or default_image(header), rdb,
                           readiness=Readiness(timeout=max(store.restore_timeout, settings.start_timeout)),
                           mode=settings.mode)
    with timed_sandbox(opening, timer, store=store.name, start_phase="restore") as server:
        yield server
