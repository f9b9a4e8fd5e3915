"""A Redis/Valkey container as the sandbox (`sandbox = "docker"`): the RDB is copied into the container's data
dir before it starts, so starting the server is loading the backup, as in the local sandbox. A random password
(`--requirepass`), the persistence settings of the mode (local_redis.MODE_SETTINGS), and the container removed on
every exit path (verifiers/sandboxes/
docker.py). A server that exits while loading raises RdbLoadError: the backup is bad, not the sandbox."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.docker import (
    ContainerExited,
    ContainerFactory,
    ContainerSpec,
    docker_container,
)
from verifiers.sandboxes.readiness import Readiness
from verifiers.stores.redis.local_server import DATABASES, RDB_NAME, RdbLoadError, loaded, mode_arguments, redact_log

CONTAINER_PORT = 6379
DATA_DIR = "/data"  # the official redis and valkey images' working directory


@dataclass(frozen=True)
class NetworkRedis:
    """A server reached over TCP, with the same `client(db)` and `info` the store code uses locally."""

    host: str
    port: int
    password: str
    info: SandboxInfo

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=db, password=self.password, socket_timeout=None,
                           driver_info=None, retry=Retry(NoBackoff(), 0))

    def describe(self) -> str:
        return f"{self.info.engine} {self.info.version} ({self.info.details.get('image', self.info.type)})"


def flavour_of(image: str) -> str:
    return "valkey" if "valkey" in image.rsplit("/", 1)[-1].split(":")[0] else "redis"


@contextmanager
def docker_redis(image: str, rdb: Path, *, readiness: Readiness, factory: ContainerFactory | None = None,
                 mode: str = "fast") -> Iterator[NetworkRedis]:
    password = secrets.token_urlsafe(24)
    flavour = flavour_of(image)
    spec = ContainerSpec(
        image=image, ports=(CONTAINER_PORT,), files={f"{DATA_DIR}/{RDB_NAME}": rdb},
        command=(f"{flavour}-server", "--dir", DATA_DIR, "--dbfilename", RDB_NAME, *mode_arguments(mode),
                 "--databases", str(DATABASES), "--requirepass", password),
        ready_log=r"Ready to accept connections")
    try:
        with docker_container(spec, timeout=readiness.timeout, factory=factory) as running:
            server = NetworkRedis(host=running.host, port=running.port(CONTAINER_PORT), password=password,
                                  info=SandboxInfo(type="docker", engine=flavour, version="?",
                                                   details={"image": image}))
            try:
                readiness.wait(lambda: _loaded(server), what=f"{image} container", alive=running.alive,
                               log_tail=lambda: redact_log(running.logs()), hint="see the container log above")
            except SandboxError as exc:
                # exited, or still loading at restore_timeout: the RDB's verdict, as in the local sandbox
                raise RdbLoadError(f"the {image} container did not load the RDB: {exc.message}") from None
            version = _version(server, flavour)
            yield NetworkRedis(host=server.host, port=server.port, password=password,
                               info=SandboxInfo(type="docker", engine=flavour, version=version,
                                                details={"image": image}))
    except ContainerExited as exc:
        raise RdbLoadError(f"the {image} container exited while loading the RDB: {redact_log(exc.message)}"
                           ) from None


def _loaded(server: NetworkRedis) -> bool:
    client = server.client()
    client.set_response_callback("INFO", lambda response, **_: response)  # the raw text, not redis-py's dict
    try:
        reply = client.info("persistence")
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()
    return isinstance(reply, bytes) and loaded(reply.decode("utf-8", errors="replace"))


def _version(server: NetworkRedis, flavour: str) -> str:
    client = server.client()
    try:
        info = client.info("server")
    finally:
        client.close()
    return str(info.get(f"{flavour}_version") or info.get("redis_version") or "?")
