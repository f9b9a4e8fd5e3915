"""What pyproject.toml promises about testcontainers holds: the `docker` and `dev` extras ask for the same
version, the installed one meets it, and the docker sandbox configures a real testcontainers DockerContainer
with every call it makes (the other tests replace that factory with a fake, or need a Docker engine).

The bound itself (>=4.15, the first release with DockerContainer.with_copy_into_container) was found by reading
the released wheels; a test here cannot install an older release, so it cannot prove the floor, only that the
code and the installed release agree."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from verifiers.sandboxes import docker as docker_sandbox  # not its names: pytest would collect test*

ROOT = Path(__file__).resolve().parents[2]


def requirements_of_testcontainers() -> list[Requirement]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return [Requirement(spec) for extra in ("docker", "dev") for spec in extras[extra]
            if Requirement(spec).name == "testcontainers"]


def test_the_extras_ask_for_one_testcontainers_version_and_it_is_installed() -> None:
    docker, dev = requirements_of_testcontainers()
    assert docker.specifier == dev.specifier
    installed = importlib.metadata.version("testcontainers")
    assert docker.specifier.contains(installed), f"testcontainers {installed} does not meet {docker}"


class NoEngine:
    """DockerContainer's constructor makes a Docker client; configuring a container needs no engine."""

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs


def test_the_docker_sandbox_configures_a_real_testcontainers_container(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.setattr("testcontainers.core.container.DockerClient", NoEngine)
    rdb = tmp_path / "dump.rdb"
    rdb.write_bytes(b"REDIS0011")
    spec = docker_sandbox.ContainerSpec(image="redis:7.2", ports=(6379,), env={"A": "1"}, files={"/data/dump.rdb": rdb},
                         command=("redis-server", "--save", ""), ready_log=r"Ready to accept", ready_times=1)
    container = docker_sandbox.testcontainers_factory(spec, 30.0)
    from testcontainers.core.container import DockerContainer

    assert isinstance(container, DockerContainer)
    assert container.env == {"A": "1"}
    assert [int(port) for port in container.ports] == [6379]
