"""A MongoDB container as the sandbox (`sandbox = "docker"`), on the shared container seam
(verifiers/sandboxes/docker.py: testcontainers, removal on every exit path, Ryuk for a killed process).

Configured as testcontainers' MongoDbContainer configures the official image (a root login through
MONGO_INITDB_ROOT_USERNAME/PASSWORD, port 27017, ready once it logs "Waiting for connections"), with a random
password that never leaves this process (mongorestore reads it from a 0600 config file). The image's
entrypoint first runs a temporary, loopback-only mongod to create that login, which logs the same line: a
ping with the login from outside the container is what tells the real server is up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from pymongo.errors import PyMongoError

from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.docker import ContainerFactory, ContainerSpec, docker_container
from verifiers.sandboxes.readiness import Readiness
from verifiers.stores.mongo.local_server import MongoServer, ping_server

CONTAINER_PORT = 27017
ROOT_USER = "restoreproof"
READY_LOG = r"(?i)waiting for connections"


@contextmanager
def docker_mongod(image: str, *, readiness: Readiness,
                  factory: ContainerFactory | None = None) -> Iterator[MongoServer]:
    password = secrets.token_urlsafe(24)
    spec = ContainerSpec(image=image, ports=(CONTAINER_PORT,), ready_log=READY_LOG,
                         env={"MONGO_INITDB_ROOT_USERNAME": ROOT_USER, "MONGO_INITDB_ROOT_PASSWORD": password})
    with docker_container(spec, timeout=readiness.timeout, factory=factory) as running:
        server = MongoServer(uri=f"mongodb://{running.host}:{running.port(CONTAINER_PORT)}/", username=ROOT_USER,
                             password=password, info=SandboxInfo(type="docker", engine="mongodb", version="?",
                                                                 details={"image": image}))
        readiness.wait(lambda: ping_server(server), what=f"{image} container", alive=lambda: True,
                       log_tail=running.logs, hint="see the container log above")
        yield replace(server, info=replace(server.info, version=_version(server)))


def _version(server: MongoServer) -> str:
    client = server.client()
    try:
        return str(client.server_info().get("version", "?"))
    except PyMongoError:
        return "?"
    finally:
        client.close()
