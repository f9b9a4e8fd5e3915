"""The `external` sandbox on a real PostgreSQL server the harness did not start (the session's "production"
server, reached by a DSN): a scratch database of its own, dropped afterwards on success and on failure, and a
refusal — with nothing created — unless the user opted in; never a drop of a database it did not create."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import Capture, failed, inventory_for, manifest_claiming, verify
from verifiers.errors import SandboxError
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes import external
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.selection import apply_overrides
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer, local_postgres
from verifiers.stores.postgres.network_server import NetworkPostgres, external_postgres

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]


@pytest.fixture(scope="module")
def external_server(newest_pg: PgInstallation) -> Iterator[PostgresServer]:
    """"The user's server": of the major the dumps need, outside the session's sandbox root (so the leftover
    checks see only what the harness starts)."""
    base = Path(tempfile.mkdtemp(prefix="rp-external-", dir="/tmp"))
    base.chmod(0o755)
    try:
        with local_postgres(newest_pg, workdir_base=base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


def dsn_of(server: PostgresServer) -> str:
    return f"host={server.socket_dir} port={server.port} user=postgres dbname=postgres"


def databases(server: PostgresServer) -> set[str]:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def scratch_databases(server: PostgresServer) -> set[str]:
    return {name for name in databases(server) if name.startswith(external.SCRATCH_PREFIX)}


def external_sandbox(server: PostgresServer, **extra: object) -> dict[str, object]:
    return {"type": "external", "dsn": dsn_of(server), **extra}


def test_restores_into_a_scratch_database_and_drops_it(backup_dir: Path, external_server: PostgresServer) -> None:
    before = databases(external_server)
    outcome = verify(backup_dir, "saas-*.dump", sandbox=external_sandbox(external_server, allow_external=True))
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None
    assert outcome.sandbox["type"] == "external"
    assert str(outcome.sandbox["database"]).startswith(external.SCRATCH_PREFIX)
    assert "password" not in str(outcome.sandbox) and str(external_server.socket_dir) in outcome.sandbox["target"]
    assert databases(external_server) == before  # the scratch database is gone, nothing else changed


def test_the_command_line_flag_is_an_explicit_opt_in(backup_dir: Path, external_server: PostgresServer) -> None:
    inventory = inventory_for(backup_dir, "saas-*.dump", sandbox=external_sandbox(external_server))
    allowed = apply_overrides(inventory, sandbox=None, allow_external=True)
    outcome = run_store(plan_store(allowed.stores[0], allowed.base_dir))
    assert outcome.status == "passed", failed(outcome)
    assert scratch_databases(external_server) == set()


def test_refuses_a_server_it_did_not_start_without_opt_in(backup_dir: Path, external_server: PostgresServer) -> None:
    before = databases(external_server)
    outcome = verify(backup_dir, "saas-*.dump", sandbox=external_sandbox(external_server))
    assert outcome.status == "error"
    assert outcome.error is not None
    message = outcome.error["message"] + outcome.error.get("hint", "")
    assert "refusing to restore" in message and "--allow-external-sandbox" in message, outcome.error
    assert databases(external_server) == before


def test_a_failing_dump_still_drops_the_scratch_database(backup_dir: Path, demo_capture: Capture,
                                                         external_server: PostgresServer) -> None:
    dump = backup_dir / demo_capture.dump.name
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump", sandbox=external_sandbox(external_server, allow_external=True))
    assert outcome.status == "failed"
    assert "pg_restore" in failed(outcome)["restore:restore"]
    assert scratch_databases(external_server) == set()


def test_refuses_to_drop_a_database_whose_marker_changed(external_server: PostgresServer,
                                                         newest_pg: PgInstallation) -> None:
    settings = inventory_for(Path("."), "x.dump", sandbox=external_sandbox(external_server, allow_external=True))
    sandbox = settings.stores[0].sandbox
    assert isinstance(sandbox, ExternalSandbox)
    claimed: list[str] = []
    try:
        opening = external_postgres(newest_pg, store="saas", settings=sandbox, encoding="UTF8",
                                    readiness=Readiness(timeout=10))
        with pytest.raises(SandboxError, match=r"refusing to drop scratch database .* marker is not the one"):
            claim_while_open(opening, claimed)
        assert claimed and claimed[0] in databases(external_server)  # refused: still there
    finally:
        with psycopg.connect(external_server.conninfo(), autocommit=True) as conn:
            for name in claimed:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def claim_while_open(opening: AbstractContextManager[NetworkPostgres], claimed: list[str]) -> None:
    """Someone else re-marks the scratch database while the store uses it."""
    with opening as server:
        claimed.append(server.restore_database)
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS 'not restoreproof'").format(
                sql.Identifier(server.restore_database)))


def test_never_drops_a_database_this_run_did_not_create(external_server: PostgresServer) -> None:
    target = "a test server"
    with pytest.raises(SandboxError, match="this run did not create it"):
        external.ensure_ours("saas", "postgres", None, target)
    with pytest.raises(SandboxError, match="this run did not create it"):  # our prefix, but not made by us
        external.ensure_ours("saas", external.SCRATCH_PREFIX + "0123456789ab",
                             external.marker(external.SCRATCH_PREFIX + "0123456789ab"), target)


def test_a_bad_dsn_is_a_clear_error_with_nothing_created(backup_dir: Path, external_server: PostgresServer) -> None:
    sandbox = {"type": "external", "dsn": f"host={external_server.socket_dir} port=1 user=postgres",
               "allow_external": True}
    outcome = verify(backup_dir, "saas-*.dump", sandbox=sandbox)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "cannot create a scratch database on the external server" in outcome.error["message"]
    assert scratch_databases(external_server) == set()


def test_the_rds_suite_refuses_then_runs_with_the_flag(external_server: PostgresServer, demo_capture: Capture,
                                                       tmp_path: Path) -> None:
    """`pytest suites/rds`: the external store is an error (non-zero exit, the refusal named) until the user
    passes --allow-external-sandbox; then it passes and leaves no scratch database."""
    (tmp_path / "backups").mkdir()
    for path in (demo_capture.dump, demo_capture.manifest):
        shutil.copy2(path, tmp_path / "backups" / path.name)
    (tmp_path / "inventory.toml").write_text(f"""
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
source = {{ type = "file", path = "backups/saas-*.dump" }}
sandbox = {{ type = "external", dsn = "{dsn_of(external_server)}" }}
""")
    argv = [str(Path(sys.executable).parent / "pytest"), str(ROOT / "suites" / "rds"), "--inventory",
            "inventory.toml", "--reports-dir", "reports", "-p", "no:cacheprovider", "-q"]
    refused = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode != 0
    assert "refusing to restore" in refused.stdout, refused.stdout[-2000:]
    allowed = subprocess.run([*argv, "--allow-external-sandbox"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300, check=False)
    assert allowed.returncode == 0, allowed.stdout[-3000:]
    assert scratch_databases(external_server) == set()
    bad = subprocess.run([*argv, "--sandbox", "podman"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         check=False)
    assert bad.returncode == 4 and "invalid choice: 'podman'" in bad.stderr


def roles(server: PostgresServer) -> set[str]:
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT rolname FROM pg_roles")}


def test_roles_a_plain_dump_needs_are_dropped_afterwards(dump_variant: Callable[..., Path],
                                                         external_server: PostgresServer) -> None:
    """A plain dump names its production roles; the harness creates them on the external server for the restore
    and drops exactly those afterwards (the source server's role stays there: a test server of this session)."""
    artifact = dump_variant("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rp_ext_reader') "
                            "THEN CREATE ROLE rp_ext_reader NOLOGIN; END IF; END $$",
                            "GRANT SELECT ON accounts TO rp_ext_reader", fmt="plain")
    before = roles(external_server)
    assert "rp_ext_reader" not in before
    outcome = verify(artifact.parent, artifact.name, sandbox=external_sandbox(external_server, allow_external=True))
    assert outcome.status == "passed", failed(outcome)
    assert roles(external_server) == before
    assert scratch_databases(external_server) == set()
