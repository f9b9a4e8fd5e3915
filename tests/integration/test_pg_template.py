"""The initdb template cache (verifiers/stores/postgres/template.py): the first sandbox of an installation runs
initdb and publishes its output, later ones start from a copy without running initdb, and a cache that is
off or unusable only costs the speed-up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

from verifiers.stores.postgres import local_server as lp
from verifiers.stores.postgres import template as pg_template
from verifiers.stores.postgres.local_server import PgInstallation, local_postgres

pytestmark = pytest.mark.postgres


def started_and_queried(installation: PgInstallation) -> tuple[str, str]:
    with local_postgres(installation) as server, psycopg.connect(server.conninfo()) as conn:
        row = conn.execute("SELECT current_setting('server_version_num'), current_setting('fsync')").fetchone()
        assert row is not None
        owner = (server.workdir / "data").stat().st_uid
        assert all(p.stat().st_uid == owner for p in (server.workdir / "data").rglob("*"))
        return str(row[0]), str(row[1])


def test_second_sandbox_starts_from_the_template_without_initdb(
        newest_pg: PgInstallation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pg_template.CACHE_ENV, str(tmp_path / "cache"))
    version, fsync = started_and_queried(newest_pg)
    (template,) = (tmp_path / "cache" / "pg-templates").iterdir()
    assert (template / "PG_VERSION").read_text().strip() == str(newest_pg.major)
    assert not (template / "postmaster.pid").exists()  # never started: a pristine cluster
    assert not list(template.parent.glob(".build-*"))

    def no_initdb(*args: object) -> None:
        raise AssertionError("initdb ran although a template was cached")

    monkeypatch.setattr(lp, "_run_initdb", no_initdb)
    assert started_and_queried(newest_pg) == (version, fsync) == (version, "off")


def test_cache_off_runs_initdb_and_keeps_nothing(newest_pg: PgInstallation, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pg_template.CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls: list[object] = []
    real = lp._run_initdb

    def counted(*args: object) -> None:
        calls.append(args)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(lp, "_run_initdb", counted)
    started_and_queried(newest_pg)
    assert len(calls) == 1 and list(tmp_path.iterdir()) == []


def test_an_unusable_cache_still_starts_the_sandbox(newest_pg: PgInstallation, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv(pg_template.CACHE_ENV, str(blocker / "cache"))
    assert started_and_queried(newest_pg)[1] == "off"


def test_a_broken_template_falls_back_to_initdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pg_template.CACHE_ENV, str(tmp_path / "cache"))
    template = tmp_path / "cache" / "pg-templates" / "k"
    template.mkdir(parents=True)
    (template / "PG_VERSION").write_text("18\n")
    data = tmp_path / "data"
    data.mkdir()
    ran: list[bool] = []

    def initdb() -> None:
        ran.append(True)
        (data / "PG_VERSION").write_text("18\n")

    monkeypatch.setattr(pg_template, "_copy_tree", _failing_copy)
    assert pg_template.initialise_data_dir(data, "k", initdb) is False
    assert ran == [True] and sorted(p.name for p in data.iterdir()) == ["PG_VERSION"]


def test_publishing_prunes_templates_unused_for_thirty_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pg_template.CACHE_ENV, str(tmp_path / "cache"))
    templates = tmp_path / "cache" / "pg-templates"
    month = 86400 * (pg_template.PRUNE_AFTER_DAYS + 1)
    now = time.time()
    for name, age in (("old", month), ("recent", 86400), (".build-left", 86400 * 2), (".build-running", 60)):
        (templates / name).mkdir(parents=True)
        (templates / name / "PG_VERSION").write_text("18\n")
        os.utime(templates / name, (now - age, now - age))
    data = tmp_path / "data"
    data.mkdir()

    def initdb() -> None:
        (data / "PG_VERSION").write_text("18\n")

    assert pg_template.initialise_data_dir(data, "new", initdb) is False
    assert sorted(p.name for p in templates.iterdir()) == [".build-running", "new", "recent"]
    # a use refreshes a template's age, so one in regular use is never pruned
    os.utime(templates / "recent", (now - month, now - month))
    (data2 := tmp_path / "data2").mkdir()
    assert pg_template.initialise_data_dir(data2, "recent", lambda: None) is True
    assert (templates / "recent").stat().st_mtime > now - 60


def _failing_copy(source: Path, target: Path) -> None:
    (target / "half-copied").write_text("")
    raise OSError("cp exited with 1: Permission denied")


def test_the_key_covers_binaries_arguments_and_owner(newest_pg: PgInstallation) -> None:
    binary = newest_pg.tool("postgres")
    key = pg_template.template_key(binary, newest_pg.version, ["--locale=C"], 100)
    assert key == pg_template.template_key(binary, newest_pg.version, ["--locale=C"], 100)
    assert key != pg_template.template_key(binary, newest_pg.version, ["--locale=C"], 101)
    assert key != pg_template.template_key(binary, newest_pg.version, ["--locale=en_US"], 100)
    assert key != pg_template.template_key(binary, "0.0", ["--locale=C"], 100)
