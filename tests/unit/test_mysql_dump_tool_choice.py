"""Which mariadb-dump / mysqldump `capture mysql` dumps with: the source server's flavour at the lowest release at
least its own; one the user named first; else the nearest other, with why said on stderr; none at all is an error
naming the release and the package to install. Each tool is identified by its own `--version`."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.errors import CaptureError, NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Refusal
from verifiers.stores.mysql import capture
from verifiers.stores.mysql.capture import SourceServer, _flavour_options, dump_tool_for
from verifiers.stores.mysql.installations import DumpTool, choose_dump_tool, find_dump_tools

MARIADB_1011 = SourceServer("10.11.19-MariaDB-0+deb12u1", "Debian 12")
MYSQL_80 = SourceServer("8.0.36", "MySQL Community Server - GPL")


def tool(flavour: str, version: str, origin: str = "system") -> DumpTool:
    name = "mariadb-dump" if flavour == "mariadb" else "mysqldump"
    return DumpTool(path=Path(f"/opt/{flavour}-{version}/bin/{name}"), flavour=flavour, version=version,
                    origin=origin)


def fake_tool(directory: Path, name: str, version_line: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(0o755)
    return path


def test_the_servers_flavour_at_the_lowest_release_at_least_its_own_else_the_nearest_other() -> None:
    mysql84, m114, m1011, m106 = (tool("mysql", "8.4.1"), tool("mariadb", "11.4.2"), tool("mariadb", "10.11.19"),
                                  tool("mariadb", "10.6.18"))
    found = Installations((mysql84, m114, m1011, m106))  # another flavour's found first

    def chosen(flavour: str, release: tuple[int, int], tools: Installations[DumpTool] = found) -> DumpTool:
        return choose_dump_tool(tools, flavour=flavour, release=release, server="x")

    assert chosen("mariadb", (10, 11)) == m1011
    assert chosen("mariadb", (10, 5)) == m106  # the nearest newer
    assert chosen("mariadb", (12, 0)) == m114  # else the newest older of its flavour
    assert chosen("mysql", (8, 0)) == mysql84
    assert chosen("mysql", (8, 0), Installations((m106, m114))) == m114  # else the other flavour's newest
    assert chosen("mysql", (9, 1), Installations((m114, mysql84))) == mysql84  # its flavour, though older


def test_a_dump_tool_the_user_named_comes_first() -> None:
    own, named = tool("mariadb", "10.11.19"), tool("mariadb", "10.6.18", "--bin-dir")
    assert choose_dump_tool(Installations((own, named)), flavour="mariadb", release=(10, 11), server="x") == named
    env = tool("mysql", "8.0.36", "RESTOREPROOF_MYSQL_BIN_DIR")
    assert choose_dump_tool(Installations((own, env)), flavour="mariadb", release=(10, 11), server="x") == env


def test_no_dump_tool_is_an_error_naming_the_release_and_the_package() -> None:
    refused = Installations[DumpTool]((), (Refusal(Path("/opt/x/mysqldump"), "--bin-dir",
                                                   "its --version names no release: 'oops'"),))
    with pytest.raises(NoSuitableServerError) as info:
        choose_dump_tool(refused, flavour="mysql", release=(8, 0), server="MySQL 8.0.36")
    assert info.value.describe() == (
        "no mariadb-dump or mysqldump here to dump the MySQL 8.0.36 server; refused: /opt/x/mysqldump (--bin-dir): "
        "its --version names no release: 'oops' — install the MySQL 8.0 dump tool (the mysql-client (or "
        "mysql-community-client) package of that release), or pass --bin-dir DIR naming one")


def test_capture_refuses_before_dumping_when_no_dump_tool_is_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "find_dump_tools", lambda bin_dir: Installations(()))
    with pytest.raises(CaptureError) as info:
        dump_tool_for(MARIADB_1011, None)
    assert info.value.describe() == (
        "capture mysql: no mariadb-dump or mysqldump here to dump the MariaDB 10.11.19-MariaDB-0+deb12u1 server — "
        "install the MariaDB 10.11 dump tool (the mariadb-client package of that release), or pass --bin-dir DIR "
        "naming one")


@pytest.mark.parametrize(("server", "found", "said"), [
    (MARIADB_1011, tool("mariadb", "10.11.6"), ""),
    (MARIADB_1011, tool("mariadb", "11.4.2"), ": no MariaDB 10.11 dump tool here, so the nearest newer, whose dump "
     "may hold statements a MariaDB 10.11 client does not know"),
    (MARIADB_1011, tool("mariadb", "10.6.18"), ": no MariaDB 10.11 or newer dump tool here, so the nearest older, "
     "which may not know what MariaDB 10.11 added — install the MariaDB 10.11 dump tool (the mariadb-client package "
     "of that release) to dump with the server's own"),
    (MARIADB_1011, tool("mariadb", "10.6.18", "--bin-dir"), ": the one --bin-dir names, which may not know what "
     "MariaDB 10.11 added — install the MariaDB 10.11 dump tool (the mariadb-client package of that release) to "
     "dump with the server's own"),
    (MYSQL_80, tool("mariadb", "10.11.19"), ": no MySQL dump tool here, so MariaDB's, which may leave out what only "
     "MySQL has, and MySQL's own client cannot read a recent mariadb-dump's first line (its sandbox-mode comment) — "
     "install the MySQL 8.0 dump tool (the mysql-client (or mysql-community-client) package of that release) to "
     "dump with the server's own"),
    (MARIADB_1011, tool("mysql", "8.0.36", "RESTOREPROOF_MYSQL_BIN_DIR"), ": the one RESTOREPROOF_MYSQL_BIN_DIR "
     "names, which may leave out what only MariaDB has — install the MariaDB 10.11 dump tool (the mariadb-client "
     "package of that release) to dump with the server's own"),
])
def test_stderr_names_the_tool_its_version_and_origin_the_server_and_why_not_its_own(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: SourceServer,
        found: DumpTool, said: str) -> None:
    monkeypatch.setattr(capture, "find_dump_tools", lambda bin_dir: Installations((found,)))
    assert dump_tool_for(server, None) == found
    assert capsys.readouterr().err == (f"capture mysql: {found.path.name} {found.version} ({found.origin}, "
                                       f"{found.path}) for a {'MariaDB' if server is MARIADB_1011 else 'MySQL'} "
                                       f"{server.version} server{said}\n")


def test_the_servers_flavour_and_release_as_it_says_them() -> None:
    assert (MARIADB_1011.flavour, MARIADB_1011.release) == ("mariadb", (10, 11))
    assert (MYSQL_80.flavour, MYSQL_80.release) == ("mysql", (8, 0))
    assert SourceServer("8.0.mysql_aurora.3.05.2", "Source distribution").release == (8, 0)
    assert SourceServer("5.5.5-10.6.18-MariaDB", "").flavour == "mariadb"
    assert SourceServer("10.6.18", "mariadb.org binary distribution").flavour == "mariadb"  # said by the comment


def test_mysqls_own_options_by_its_release() -> None:
    assert _flavour_options(tool("mariadb", "10.11.19")) == []
    assert _flavour_options(tool("mysql", "8.0.36")) == ["--set-gtid-purged=OFF", "--column-statistics=0"]
    assert _flavour_options(tool("mysql", "5.7.44")) == ["--set-gtid-purged=OFF"]  # 5.7 has no --column-statistics


def test_dump_tools_are_found_in_the_bin_dir_first_and_identified_by_their_own_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A --bin-dir with a dump tool and no server (a client package) is used; one that names no release is
    refused with what it said; mysqldump linked to mariadb-dump is one tool."""
    bin_dir = tmp_path / "mysql-8.4" / "bin"
    fake_tool(bin_dir, "mysqldump", "mysqldump  Ver 8.4.1 for Linux on x86_64 (MySQL Community Server - GPL)")
    path_dir = tmp_path / "path"
    maria = fake_tool(path_dir, "mariadb-dump", "mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd")
    (path_dir / "mysqldump").symlink_to(maria)
    broken = fake_tool(tmp_path / "broken", "mysqldump", "nothing useful")
    monkeypatch.setenv("PATH", f"{path_dir}:{broken.parent}")
    found = find_dump_tools(str(bin_dir))
    assert found.found[0] == DumpTool(bin_dir / "mysqldump", "mysql", "8.4.1", "--bin-dir")
    assert found.found[0].named
    mine = [t for t in found if t.path.parent in (path_dir, broken.parent)]
    assert mine == [DumpTool(maria, "mariadb", "11.4.2", "PATH")]
    assert [r.describe() for r in found.refused if r.path == broken] == [
        f"{broken} (PATH): its --version names no release: 'nothing useful'"]
