"""Which MySQL/MariaDB installation restores a dump: the source's flavour at its own release where installed, else
the nearest newer; one the user named first; only the source's own release when asked, failing by name otherwise;
the client for a server this harness did not start; the engine check that says which it was; and the modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.installation_search import Installations, Refusal
from verifiers.stores.mysql.archive import DumpHeader
from verifiers.stores.mysql.fidelity import engine_check, mode_of
from verifiers.stores.mysql.installations import MysqlInstallation, choose_client, choose_installation
from verifiers.stores.mysql.local_server import FAST_SETTINGS, server_settings

ROLES = ("client", "install_db")


def mysql(flavour: str, version: str, tmp: Path, origin: str = "system",
          tools: tuple[str, ...] = ("mariadb", "mariadb-install-db", "mysql")) -> MysqlInstallation:
    bin_dir = tmp / f"{origin}-{flavour}-{version}".replace(" ", "_") / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    server = bin_dir / ("mariadbd" if flavour == "mariadb" else "mysqld")
    return MysqlInstallation(server=server, flavour=flavour, version=version, origin=origin, tool_dirs=(bin_dir,))


def header(server_version: str | None, tool: str = "mariadb") -> DumpHeader:
    return DumpHeader(tool=tool, dump_version="10.19", distrib="10.11.19-MariaDB", server_version=server_version,
                      database="shop")


def test_the_sources_release_wins_over_a_newer_one_found_first(tmp_path: Path) -> None:
    newer, own = mysql("mariadb", "11.4.2", tmp_path), mysql("mariadb", "10.11.19", tmp_path)
    mysql80 = mysql("mysql", "8.0.36", tmp_path)
    found = Installations((mysql80, newer, own))
    assert choose_installation(found, flavour="mariadb", min_release=(10, 11), roles=ROLES, purpose="x") == own
    assert choose_installation(found, flavour="mariadb", min_release=(10, 6), roles=ROLES, purpose="x") == own
    assert choose_installation(found, flavour="mariadb", min_release=(11, 0), roles=ROLES, purpose="x") == newer


def test_an_installation_the_user_named_comes_first_but_exact_holds_to_the_sources(tmp_path: Path) -> None:
    own, named = mysql("mariadb", "10.11.19", tmp_path), mysql("mariadb", "11.4.2", tmp_path, "configured")
    found = Installations((own, named))
    assert choose_installation(found, flavour="mariadb", min_release=(10, 11), roles=ROLES, purpose="x") == named
    env = mysql("mariadb", "11.8.1", tmp_path, "RESTOREPROOF_MYSQL_BIN_DIR")
    assert choose_installation(Installations((own, env)), flavour="mariadb", min_release=(10, 11), roles=ROLES,
                               purpose="x") == env
    assert choose_installation(found, flavour="mariadb", min_release=(10, 11), roles=ROLES, purpose="x",
                               exact=True) == own


def test_an_exact_release_that_is_missing_is_an_error_naming_it_and_the_package(tmp_path: Path) -> None:
    found = Installations((mysql("mariadb", "10.11.19", tmp_path),),
                          (Refusal(Path("/opt/mariadb/bin/mariadbd"), "configured", "not found"),))
    with pytest.raises(NoSuitableServerError) as info:
        choose_installation(found, flavour="mariadb", min_release=(10, 6), roles=ROLES, purpose="restore it",
                            exact=True)
    message = info.value.describe()
    assert message.startswith("no MariaDB 10.6 with its client, install_db tools to restore it; available: mariadb "
                              "10.11.19 (system")
    assert "refused: /opt/mariadb/bin/mariadbd (configured): not found" in message
    assert "install MariaDB 10.6 (e.g. the distribution's mariadb-server package of that release)" in message
    with pytest.raises(NoSuitableServerError, match=r"install MySQL 8\.0 or newer \(e\.g\. the distribution's "
                                                    r"mysql-server package\)"):
        choose_installation(found, flavour="mysql", min_release=(8, 0), roles=("client",), purpose="x")


def test_a_target_gets_the_client_of_its_own_flavour_and_release(tmp_path: Path) -> None:
    m106, m1011, m114 = (mysql("mariadb", v, tmp_path) for v in ("10.6.18", "10.11.19", "11.4.2"))
    mysql84 = mysql("mysql", "8.4.1", tmp_path, tools=("mysql",))
    found = Installations((m114, mysql84, m1011, m106))
    assert choose_client(found, flavour="mariadb", release=(10, 11)) == m1011
    assert choose_client(found, flavour="mariadb", release=(10, 5)) == m106  # the nearest newer
    assert choose_client(found, flavour="mariadb", release=(12, 0)) == m114  # else the newest older
    assert choose_client(found, flavour="mysql", release=(8, 0)) == mysql84
    assert choose_client(Installations((m114, m106)), flavour="mysql", release=(8, 0)) == m106  # the other flavour
    no_client = mysql("mariadb", "10.11.19", tmp_path, "bare", tools=())
    with pytest.raises(NoSuitableServerError, match=r"no mariadb or mysql client to restore into the MySQL 8\.0 "):
        choose_client(Installations((no_client,)), flavour="mysql", release=(8, 0))


def test_the_engine_check_says_same_other_or_not_compared() -> None:
    local = SandboxInfo(type="local", engine="mariadb", version="10.11.19")
    same = engine_check(header("10.11.6-MariaDB-0+deb12u1"), local, exact=False)
    assert same.passed and same.message == ("MariaDB 10.11.19 sandbox for a MariaDB 10.11.6-MariaDB-0+deb12u1 "
                                            "source: the same flavour and release")
    other = engine_check(header("10.6.18-MariaDB-log"), local, exact=False)
    assert other.passed and (other.observed, other.expected) == ("MariaDB 10.11.19", "MariaDB 10.6.18-MariaDB-log")
    assert other.message.startswith("sandbox MariaDB 10.11.19, source MariaDB 10.6.18-MariaDB-log: verified on "
                                    "another release (MariaDB 10.11, not MariaDB 10.6), the nearest that can take "
                                    "this dump here — install MariaDB 10.6")
    assert not engine_check(header("10.6.18-MariaDB-log"), local, exact=True).passed
    flavour = engine_check(header("8.0.36", tool="mysql"), SandboxInfo(type="external", engine="mariadb",
                                                                       version="10.11.19"), exact=False)
    assert "verified on another flavour (MariaDB 10.11, not MySQL 8.0)" in flavour.message
    unknown = engine_check(header(None), local, exact=True)
    assert unknown.passed and not unknown.compared
    assert unknown.message.startswith("not compared: the dump records no server version")


def test_the_modes_settings_and_the_mode_read_back() -> None:
    assert set(FAST_SETTINGS) <= set(server_settings("fast"))
    assert not set(FAST_SETTINGS) & set(server_settings("production-like"))
    assert "--skip-networking" in server_settings("production-like")  # the private socket in every mode
    assert mode_of({"innodb_flush_log_at_trx_commit": "0", "innodb_doublewrite": "OFF"}) == "fast"
    assert mode_of({"innodb_flush_log_at_trx_commit": "1", "innodb_doublewrite": "OFF"}) == "fast"
    assert mode_of({"innodb_flush_log_at_trx_commit": "2", "innodb_doublewrite": "ON"}) == "fast"
    assert mode_of({"innodb_flush_log_at_trx_commit": "1", "innodb_doublewrite": "ON"}) == "production-like"
    assert mode_of({"innodb_flush_log_at_trx_commit": "1", "innodb_doublewrite": "DETECT_AND_RECOVER"}) == (
        "production-like")
