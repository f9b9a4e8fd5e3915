"""A container as a sandbox (`sandbox = "docker"`), store-agnostic: an image, the ports to publish, the
environment, the files to copy in before it starts, and a log line to wait for. Each store kind turns its own
connection facts out of the running container (verifiers/stores/<kind>/sandbox.py).

Built on testcontainers' core `DockerContainer` and `LogMessageWaitStrategy`: testcontainers' Ryuk reaper
removes the container even when this process is killed outright, and `stop()` removes it (with its anonymous
volumes) on every other exit path — success, failure, timeout, Ctrl-C and SIGTERM (which the plugin turns into
KeyboardInterrupt). testcontainers is imported when a container is opened, never at import time, so runs that
use no docker sandbox make no Docker client. `ContainerFactory` is the seam the unit tests replace.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from verifiers.errors import SandboxError

log = logging.getLogger(__name__)
LABELS = {"restoreproof.sandbox": "true"}
NO_ENGINE_HINT = ("start the Docker engine (or point DOCKER_HOST at one) and check the image can be pulled, "
                  'or use sandbox = "local"')


@dataclass(frozen=True)
class ContainerSpec:
    """What to run. `files` maps a path inside the container to a host file copied there before it starts
    (e.g. an RDB into the data dir); `ready_log` is a regex the log must show `ready_times` times."""

    image: str
    ports: tuple[int, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    ready_log: str | None = None
    ready_times: int = 1
    labels: Mapping[str, str] = field(default_factory=lambda: dict(LABELS))

    def __post_init__(self) -> None:
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(f"not a container image name: {self.image!r}")


class ContainerExited(SandboxError):
    """The container started but its process exited before it was ready (e.g. the server refused the data it
    was given to load): the artifact's problem, not the engine's."""


class Container(Protocol):
    """The part of testcontainers' DockerContainer this module uses (and a fake implements)."""

    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def get_container_host_ip(self) -> str: ...
    def get_exposed_port(self, port: int) -> int | str: ...
    def get_logs(self) -> tuple[bytes, bytes]: ...
    def reload(self) -> None: ...
    @property
    def status(self) -> str: ...


ContainerFactory = Callable[[ContainerSpec, float], Container]


@dataclass(frozen=True)
class RunningContainer:
    """Where a started container listens: `host` and the host port published for each container port."""

    image: str
    host: str
    ports: Mapping[int, int]
    logs: Callable[[], str]
    alive: Callable[[], bool] = lambda: True  # False once the container's process has exited

    def port(self, container_port: int) -> int:
        return self.ports[container_port]


def testcontainers_factory(spec: ContainerSpec, timeout: float) -> Container:
    """A configured, not yet started DockerContainer (its constructor already talks to the engine)."""
    try:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.wait_strategies import LogMessageWaitStrategy
    except ImportError:
        raise SandboxError("the docker sandbox needs the testcontainers package",
                           hint="pip install 'restoreproof[docker]' (testcontainers), "
                           'or use sandbox = "local"') from None
    container = DockerContainer(spec.image)
    if spec.command:
        container.with_command(list(spec.command))  # a list: no shell-style splitting of the arguments
    container.with_exposed_ports(*spec.ports).with_envs(**dict(spec.env)).with_kwargs(labels=dict(spec.labels))
    for destination, source in spec.files.items():
        container.with_copy_into_container(source, destination, 0o644)
    if spec.ready_log is not None:
        container.waiting_for(LogMessageWaitStrategy(re.compile(spec.ready_log, re.MULTILINE), times=spec.ready_times)
                              .with_startup_timeout(int(max(1.0, timeout))))
    return container


@contextmanager
def docker_container(spec: ContainerSpec, *, timeout: float,
                     factory: ContainerFactory | None = None) -> Iterator[RunningContainer]:
    """Start `spec`'s container and wait for its log line; on any exit remove it. A removal failure after an
    earlier error is logged (never hiding that error); after success it is raised. `factory` defaults to this
    module's `testcontainers_factory`, looked up at call time (the tests' seam)."""
    make = factory or globals()["testcontainers_factory"]
    container: Container | None = None
    failing = True
    try:
        try:
            container = make(spec, timeout)
            container.start()
        except SandboxError:
            raise
        except Exception as exc:  # docker's, requests' and testcontainers' errors share no base class
            if container is not None and _exited(container):
                raise ContainerExited(f"the {spec.image} container exited before it was ready{_tail(container)}",
                                      hint="see the container log above") from None
            raise SandboxError(f"cannot start a {spec.image} container: {_describe(exc)}{_tail(container)}",
                               hint=NO_ENGINE_HINT) from None
        running = RunningContainer(image=spec.image, host=container.get_container_host_ip(),
                                   ports={p: int(container.get_exposed_port(p)) for p in spec.ports},
                                   logs=lambda: _tail(container), alive=lambda: not _exited(container))
        yield running
        failing = False
    finally:
        if container is not None:
            _remove(container, spec.image, failing=failing)


def _remove(container: Container, image: str, *, failing: bool) -> None:
    try:
        container.stop()
    except Exception as exc:  # same: any engine error; the container may outlive us, say how to find it
        error = SandboxError(f"could not remove the {image} sandbox container: {_describe(exc)}",
                             hint="remove it by hand: docker rm -f $(docker ps -aq --filter "
                             "label=restoreproof.sandbox=true)")
        if not failing:
            raise error from None
        log.error("%s (%s)", error, error.hint)


def _exited(container: Container) -> bool:
    try:
        container.reload()
        return container.status in ("exited", "dead")
    except Exception:  # no container was created, or the engine went away: not an exit of ours
        return False


def engine_available() -> bool:
    """Whether a Docker engine answers (for skipping the real-container tests with a reason)."""
    return engine_problem() is None


def engine_problem(timeout: float = 3) -> str | None:
    """Why no Docker engine can be used here (no docker package, no socket, no answer), or None when one answers
    a ping. Asks the engine DOCKER_HOST (else the default socket) names, as testcontainers will."""
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return "the docker package is not installed (it comes with the docker extra)"
    try:
        client = docker.from_env(timeout=timeout)
        try:
            return None if client.ping() else "the engine did not answer a ping"
        finally:
            client.close()
    except Exception as exc:  # docker's and requests' errors share no base class: any of them means "not here"
        return f"no engine answers at {os.environ.get('DOCKER_HOST') or 'the default socket'}: {_describe(exc)}"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _tail(container: Container | None, lines: int = 20) -> str:
    if container is None:
        return ""
    try:
        out, err = container.get_logs()
    except Exception:  # the log decorates an error already being raised
        log.debug("could not read the container log", exc_info=True)
        return ""
    text = (out or b"").decode("utf-8", "replace") + (err or b"").decode("utf-8", "replace")
    tail = "\n".join(text.splitlines()[-lines:])
    return f"; its log ends:\n{tail}" if tail else ""
