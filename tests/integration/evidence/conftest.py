"""Real runs for the evidence tests: `pytest suites/rds` in a subprocess, three sealed and signed runs in one
reports root and one failing run (schema drift, a changed row) in another, all from a backup captured through
a DSN that carries a password, of a database with a marker value planted in one row."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import SOURCE_DB, manifest_claiming
from tests.evidence_runs import write_key
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "Pw-7c1e90d4-never-in-a-report"
RUN_TIMEOUT = 300


@dataclass(frozen=True)
class Reports:
    root: Path
    runs: list[Path]
    output: list[str]  # each run's stdout + stderr


@dataclass(frozen=True)
class SigningKey:
    private: Path
    public: Path


ASSERTION = """
[[stores.assertions]]
name = "every invoice belongs to an account"
sql = "SELECT count(*) FROM billing.invoices i LEFT JOIN public.accounts a ON a.id = i.account_id WHERE a.id IS NULL"
expect = 0
"""


def write_inventory(directory: Path, artifact_glob: str) -> Path:
    inventory = directory / "inventory.toml"
    store = '[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "15m"\nrpo = "30d"\n'
    inventory.write_text(f'{store}[stores.source]\ntype = "file"\npath = "{artifact_glob}"\n{ASSERTION}')
    return inventory


def run_suite(inventory: Path, reports: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`pytest suites/rds` as a user runs it; returns its output."""
    environment = {k: v for k, v in os.environ.items() if k != "RESTOREPROOF_SIGNING_KEY"}
    environment.update(env or {})
    result = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "suites" / "rds"), "--inventory",
                             str(inventory), "--reports-dir", str(reports), "-p", "no:cacheprovider", *args],
                            cwd=inventory.parent, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                            env=environment, check=False)
    return result.stdout + result.stderr + f"\nexit {result.returncode}\n"


def new_run(reports: Path, before: set[Path]) -> Path:
    (run,) = set(reports.glob("*/*")) - before
    return run


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    _, private, public = write_key(tmp_path_factory.mktemp("keys"))
    return SigningKey(private, public)


@pytest.fixture(scope="session")
def backups(source_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database captured through a DSN with a password in it."""
    directory = tmp_path_factory.mktemp("evidence-project")
    (directory / "backups").mkdir()
    capture_postgres(f"{source_server.conninfo(SOURCE_DB)} password={PASSWORD}", directory / "backups")
    return directory


@pytest.fixture(scope="session")
def chained_reports(backups: Path, signing_key: SigningKey) -> Reports:
    """Three runs into one reports root, signed via the flag, the environment and the ini key; the second also
    rewrites report.html after every test, so its seal must cover the final version."""
    inventory = write_inventory(backups, "backups/saas-*.dump")
    reports = backups / "reports"
    key = str(signing_key.private)
    runs, output = [], []
    for args, env in ((("--signing-key", key), None),
                      (("-o", "generate_report_on_test=true"), {"RESTOREPROOF_SIGNING_KEY": key}),
                      (("-o", f"restoreproof_signing_key={key}"), None)):
        before = set(reports.glob("*/*"))
        output.append(run_suite(inventory, reports, *args, env=env))
        assert output[-1].endswith("exit 0\n"), output[-1][-3000:]
        runs.append(new_run(reports, before))
    return Reports(reports, runs, output)


@pytest.fixture(scope="session")
def failing_reports(backups: Path, source_server: PostgresServer, oldest_pg: PgInstallation) -> Reports:
    """One run of a backup whose schema drifted and whose marker row changed, judged against the manifest."""
    from fixtures.saas_demo import MARKER

    directory = backups / "failing"
    (directory / "backups").mkdir(parents=True)
    db = "evidence_variant"
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(db), sql.Identifier(SOURCE_DB)))
    try:
        with psycopg.connect(source_server.conninfo(db), autocommit=True) as conn:
            conn.execute("ALTER TABLE public.users ADD COLUMN nickname text")
            conn.execute("UPDATE public.users SET email = 'changed-' || email WHERE email LIKE %s", (f"{MARKER}%",))
        dump = directory / "backups" / "saas-variant.dump"
        subprocess.run([str(oldest_pg.tool("pg_dump")), "--format=custom", f"--file={dump}", "--dbname", db],
                       env=source_server.client_env(db), check=True, capture_output=True)
    finally:
        with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
    (manifest,) = (backups / "backups").glob("*.manifest.json")
    manifest_claiming(manifest, dump, directory / "backups" / "saas-variant.manifest.json")
    inventory = write_inventory(directory, "backups/saas-variant.dump")
    reports = directory / "reports"
    output = run_suite(inventory, reports)
    assert output.endswith("exit 1\n"), output[-3000:]
    return Reports(reports, [new_run(reports, set())], [output])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the upload and archive tests."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with socket.create_connection((host, port), timeout=10):
            pass
        yield f"http://{host}:{port}"
    finally:
        server.stop()
