"""MySQL/MariaDB test support: a real "production" server (the system's mariadbd, in a directory the leftover
checks do not look at) filled by fixtures/mysql_demo.py, its captured dump + manifest, and helpers that make
changed or damaged copies. The fixtures are imported by tests/conftest.py."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures import mysql_demo
from verifiers.inventory import parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sources import sha256_file
from verifiers.stores.mysql.capture import DUMP_OPTIONS, capture_mysql
from verifiers.stores.mysql.installations import MysqlInstallation, find_installations
from verifiers.stores.mysql.local_server import MysqlServer, local_mysql
from verifiers.stores.mysql.rowhash import quote_identifier

SOURCE_PREFIX = "rp-test-source-mysql-"  # the long-lived source server: not a sandbox the checks look for
SOURCE_DB = "shop"
STORE = "shop"
FIXED = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class MysqlCapture:
    dump: Path
    manifest: Path


def source_dsn(server: MysqlServer, database: str = SOURCE_DB) -> str:
    return f"unix_socket={server.socket} user=root password={server.password} database={database}"


@pytest.fixture(scope="session")
def mariadb() -> MysqlInstallation:
    found = [i for i in find_installations(None, None) if i.flavour == "mariadb"]
    assert found, "no MariaDB server: install the distribution's mariadb-server package (.ci/run does)"
    return found[0]


@pytest.fixture(scope="session")
def mysql_source(mariadb: MysqlInstallation) -> Iterator[MysqlServer]:
    """The "production" server with the demo shop database."""
    with local_mysql(mariadb, prefix=SOURCE_PREFIX) as server:
        conn = server.connect()
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {SOURCE_DB}")
            cur.execute(f"USE {SOURCE_DB}")
            mysql_demo.build(cur)
        conn.close()
        yield server


# mysql_capture is taken at the fixed time FIXED, long before a snapshot a test makes now: an rds-snapshot source
# pairs it by time only with a manifest_tolerance this wide.
PAIRS_FIXED_CAPTURE = "3650d"


@pytest.fixture(scope="session")
def mysql_capture(mysql_source: MysqlServer, tmp_path_factory: pytest.TempPathFactory) -> MysqlCapture:
    dump, manifest = capture_mysql(source_dsn(mysql_source), tmp_path_factory.mktemp("mysql-capture"), now=FIXED)
    return MysqlCapture(dump, manifest)


@pytest.fixture
def mysql_backup_dir(tmp_path: Path, mysql_capture: MysqlCapture) -> Path:
    """A private copy of the captured dump and its manifest, free to damage."""
    shutil.copy2(mysql_capture.dump, tmp_path / mysql_capture.dump.name)
    shutil.copy2(mysql_capture.manifest, tmp_path / mysql_capture.manifest.name)
    return tmp_path


def manifest_claiming(manifest: Path, artifact: Path, target: Path) -> Path:
    """A copy of `manifest` naming `artifact` (its sha256 and size) but keeping the captured facts: a backup
    whose data differs from what was captured."""
    data = json.loads(manifest.read_text())
    data["artifact"].update(name=artifact.name, sha256=sha256_file(artifact), bytes=artifact.stat().st_size)
    target.write_text(json.dumps(data))
    return target


def mysql_verify(directory: Path, artifact_glob: str, **settings: object) -> StoreOutcome:
    """Run the harness on one MySQL store, in process, exactly as the suites do."""
    store: dict[str, object] = {"name": STORE, "kind": "mysql", "rto": "15m", "rpo": "3650d",
                                "source": {"type": "file", "path": artifact_glob}}
    store.update(settings)
    inventory = parse_inventory({"stores": [store]}, directory / "inventory.toml")
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def client(server: MysqlServer, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run([*server.client_argv("client"), *args], input=stdin, check=True, capture_output=True)


@pytest.fixture
def mysql_variant(mysql_source: MysqlServer, mysql_capture: MysqlCapture,
                  tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Restore the captured dump into a scratch database of the source server, change it, dump it: the dump's
    manifest still holds the captured facts."""
    made: list[str] = []

    def make(*statements: str, name: str = "variant") -> Path:
        database = f"variant_{len(made)}"
        made.append(database)
        client(mysql_source, "-e", f"CREATE DATABASE {quote_identifier(database)}")
        client(mysql_source, f"--database={database}", stdin=gzip.decompress(mysql_capture.dump.read_bytes()))
        for statement in statements:
            client(mysql_source, f"--database={database}", "-e", statement)
        out = tmp_path / f"{name}.sql.gz"
        dumped = subprocess.run([*mysql_source.client_argv("dump"), *DUMP_OPTIONS, database],
                                check=True, capture_output=True)
        out.write_bytes(gzip.compress(dumped.stdout))
        manifest_claiming(mysql_capture.manifest, out, tmp_path / f"{name}.manifest.json")
        return out

    yield make
    for database in made:
        client(mysql_source, "-e", f"DROP DATABASE IF EXISTS {quote_identifier(database)}")


def _mysql_leftovers() -> tuple[set[str], set[Path]]:
    from tests.conftest import sandbox_dirs, sandbox_processes  # here: conftest imports this module

    def ours(text: str) -> bool:
        return "/restoreproof-mysql-" in text or f"/restoreproof-{STORE}-" in text

    return ({p for p in sandbox_processes() if ours(p)}, {d for d in sandbox_dirs() if ours(str(d))})


@pytest.fixture
def no_mysql_leftovers(mysql_source: MysqlServer) -> Iterator[None]:
    """After a MySQL test: no new sandbox server process and no new sandbox or capture directory."""
    processes, dirs = _mysql_leftovers()
    yield
    after_processes, after_dirs = _mysql_leftovers()
    assert after_processes - processes == set()
    assert after_dirs - dirs == set()
