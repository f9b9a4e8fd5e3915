"""Where MariaDB / MySQL binaries are, and which of them can restore a dump.

Found in this order: the configured directory (sandbox.bin_dir), RESTOREPROOF_MYSQL_BIN_DIR, PATH, then the
distribution's places (/usr/sbin, /usr/local/mysql/bin). The server (`mariadbd` / `mysqld`) lives in sbin on
Debian, its client tools (`mariadb`, `mariadb-dump`, `mariadb-install-db`) in bin: an installation knows both.

Of those that can restore a dump, the nearest to its source restores it: the same flavour at the lowest release
(major.minor: 10.11, 8.0, 8.4 are what MariaDB and MySQL call their series, x.y.z only fixes bugs) at least the
source's, one the user named first; `version_match = "exact"` requires the source's own release. Capture dumps
with the dump tool of the source server's flavour at the lowest release at least the server's, by the same rule.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Refusal, Search, staged_note
from verifiers.sandboxes.nearest import nearest
from verifiers.sandboxes.process import unprivileged_user

USER_FALLBACKS = ("mysql", "nobody")
SERVERS = ("mariadbd", "mysqld")
SYSTEM_DIRS = ("/usr/sbin", "/usr/local/mysql/bin", "/usr/local/bin", "/usr/bin")
# "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for ..." / "mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL ...)"
_VERSION = re.compile(r"\bVer (\d+\.\d+\.\d+)(\S*)")
# a client's: "mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, ...", "mariadb from 11.4.2-MariaDB, client 15.2 ...",
# "mysql  Ver 8.0.36 for Linux ..."
_CLIENT_VERSION = re.compile(r"\b(?:Distrib|from) (\d+\.\d+\.\d+)|\bVer (\d+\.\d+\.\d+)")
LABELS = {"mariadb": "MariaDB", "mysql": "MySQL"}
NAMED_ORIGINS = ("configured", "RESTOREPROOF_MYSQL_BIN_DIR")
DUMP_BIN_DIR = "--bin-dir"  # capture's own: the dump tool the user named
# Tools by role, MariaDB names first (MariaDB 11 drops the mysql* symlinks from its packages).
TOOLS = {
    "client": ("mariadb", "mysql"),
    "dump": ("mariadb-dump", "mysqldump"),
    "install_db": ("mariadb-install-db", "mysql_install_db"),
}


def version_tuple(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        raise ValueError(f"not a MySQL/MariaDB version: {version!r}")
    return int(match.group(1)), int(match.group(2))


def series(flavour: str, release: tuple[int, int]) -> str:
    """"MariaDB 10.11": a flavour's release series."""
    return f"{LABELS.get(flavour, flavour)} {release[0]}.{release[1]}"


@dataclass(frozen=True)
class MysqlInstallation:
    """One server binary, its flavour (mariadb | mysql) and version, and the directories of its tools."""

    server: Path
    flavour: str
    version: str
    origin: str
    tool_dirs: tuple[Path, ...]

    @property
    def release(self) -> tuple[int, int]:
        return version_tuple(self.version)

    @property
    def named(self) -> bool:
        """Whether the user named this installation (sandbox.bin_dir or RESTOREPROOF_MYSQL_BIN_DIR)."""
        return self.origin.startswith(NAMED_ORIGINS)

    def tool(self, role: str) -> Path | None:
        """The client, dump or install_db tool of this installation; None when it has none."""
        for directory in self.tool_dirs:
            for name in TOOLS[role]:
                candidate = directory / name
                if os.access(candidate, os.X_OK):
                    return candidate
        return None

    def describe(self) -> str:
        return f"{self.flavour} {self.version} ({self.origin}, {self.server})"


def candidate_servers(configured: str | None) -> list[tuple[Path, str]]:
    dirs: list[tuple[Path, str]] = []
    if configured:
        dirs.append((Path(configured), "configured"))
    if env_dir := os.environ.get("RESTOREPROOF_MYSQL_BIN_DIR"):
        dirs.append((Path(env_dir), "RESTOREPROOF_MYSQL_BIN_DIR"))
    for name in SERVERS:
        if on_path := shutil.which(name):
            dirs.append((Path(on_path).parent, "PATH"))
    dirs.extend((Path(d), "system") for d in SYSTEM_DIRS)
    found: list[tuple[Path, str]] = []
    for directory, origin in dirs:
        found.extend((directory / name, origin) for name in SERVERS if (directory / name).exists())
    return found


def _tool_dirs(server: Path) -> tuple[Path, ...]:
    dirs = [server.parent, server.parent.parent / "bin", Path("/usr/bin"), Path("/usr/local/bin")]
    if on_path := shutil.which("mariadb") or shutil.which("mysql"):
        dirs.append(Path(on_path).parent)
    return tuple(dict.fromkeys(dirs))


@functools.lru_cache(maxsize=16)
def find_installations(configured: str | None, user_name: str | None) -> Installations[MysqlInstallation]:
    """Every usable server, in preference order, and the candidates refused with why; `user_name` (as root)
    must be able to run it: a server out of its reach runs from a staged copy of its installation."""
    search = Search(unprivileged_user(user_name, USER_FALLBACKS))
    found: list[MysqlInstallation] = []
    seen: set[Path] = set()
    for server, origin in candidate_servers(configured):
        real = server.resolve()
        if real in seen:
            continue
        seen.add(real)
        tree = real.parent.parent if real.parent.name in ("bin", "sbin") else real.parent  # share/ beside bin/
        probe = search.probe(real, origin, args=("--no-defaults", "--version"), tree=tree)
        if probe is None:
            continue
        match = _VERSION.search(probe.output)
        if match is None:
            search.unrecognised(real, origin, probe)
            continue
        flavour = "mariadb" if "mariadb" in (match.group(2) + probe.output).lower() else "mysql"
        dirs = _tool_dirs(server) if probe.staged_from is None else _tool_dirs(probe.binary)
        found.append(MysqlInstallation(server=probe.binary, flavour=flavour, version=match.group(1),
                                       origin=staged_note(origin, probe), tool_dirs=dirs))
    return Installations(tuple(found), tuple(search.refused))


def choose_installation(installations: Installations[MysqlInstallation], *, flavour: str,
                        min_release: tuple[int, int], roles: tuple[str, ...], purpose: str,
                        exact: bool = False) -> MysqlInstallation:
    """The installation of `flavour` at the lowest release at least `min_release` (the source's own where it is
    installed, else the nearest newer; only that one with `exact`) with every tool of `roles`; one the user named
    comes first."""
    usable = [i for i in installations if i.flavour == flavour and i.release >= min_release
              and (not exact or i.release == min_release) and all(i.tool(r) for r in roles)]
    if chosen := nearest(usable, lambda i: i.release):
        return chosen
    available = ", ".join(i.describe() for i in installations) or "none"
    wanted = series(flavour, min_release) + ("" if exact else " or newer")
    package = "mariadb-server" if flavour == "mariadb" else "mysql-server"
    raise NoSuitableServerError(
        f"no {wanted} with its {', '.join(roles)} tools to {purpose}; available: {available}"
        + installations.refused_text(),
        hint=f"install {wanted} (e.g. the distribution's {package} package"
        + (" of that release" if exact else "") + ") or set sandbox.bin_dir (or RESTOREPROOF_MYSQL_BIN_DIR) "
        "to its binaries",
    )


def choose_client(installations: Installations[MysqlInstallation], *, flavour: str,
                  release: tuple[int, int]) -> MysqlInstallation:
    """The client for a server of `flavour` and `release` that this harness did not start (a container, the
    user's): of its flavour at the lowest release at least the server's, else the newest older one of its flavour,
    else the other flavour's oldest; one the user named first. A newer client's dump statements and defaults
    may be unknown to an older server, and each flavour's client speaks its own authentication best."""
    def rank(i: MysqlInstallation) -> tuple[int, int, int]:
        if i.flavour == flavour and i.release >= release:
            return (0, *i.release)
        if i.flavour == flavour:
            return (1, -i.release[0], -i.release[1])
        return (2, *i.release)

    if chosen := nearest((i for i in installations if i.tool("client")), rank):
        return chosen
    raise NoSuitableServerError(
        f"no mariadb or mysql client to restore into the {series(flavour, release)} server",
        hint="install the distribution's mariadb-client (or mysql-client) package or set sandbox.bin_dir")


@functools.lru_cache(maxsize=32)
def _version_text(tool: Path) -> str | None:
    try:
        result = subprocess.run([str(tool), "--no-defaults", "--version"], capture_output=True, text=True,
                                timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def client_version(tool: Path) -> str | None:
    """The version a client tool reports (`--version`), for the evidence; None when it says none."""
    match = _CLIENT_VERSION.search(_version_text(tool) or "")
    return (match.group(1) or match.group(2)) if match else None


@dataclass(frozen=True)
class DumpTool:
    """A mariadb-dump / mysqldump, its flavour and version as the tool itself reports them (a server's tool
    directories may hold another installation's client), and where it was found."""

    path: Path
    flavour: str
    version: str
    origin: str

    @property
    def release(self) -> tuple[int, int]:
        return version_tuple(self.version)

    @property
    def named(self) -> bool:
        """Whether the user named it (capture's --bin-dir, or RESTOREPROOF_MYSQL_BIN_DIR)."""
        return self.origin.startswith((DUMP_BIN_DIR, *NAMED_ORIGINS))

    def describe(self) -> str:
        return f"{self.path.name} {self.version} ({self.origin}, {self.path})"


def find_dump_tools(bin_dir: str | None) -> Installations[DumpTool]:
    """Every dump tool, in search order: in `bin_dir` (capture's --bin-dir), beside each server the installation
    search finds (its own bin and sbin, not the shared fallbacks), then on PATH (a host with the client package
    only); each identified by its own `--version`, refused when that names no release."""
    places = [(Path(bin_dir), DUMP_BIN_DIR)] if bin_dir else []
    for installation in find_installations(bin_dir, None):
        origin = DUMP_BIN_DIR if installation.origin.startswith("configured") else installation.origin
        server = installation.server
        places += [(server.parent, origin), (server.parent.parent / "bin", origin)]
    places += [(Path(p), "PATH") for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    found: list[DumpTool] = []
    refused: list[Refusal] = []
    seen: set[Path] = set()
    for directory, origin in places:
        for name in TOOLS["dump"]:
            path = directory / name
            if path.resolve() in seen or not os.access(path, os.X_OK):
                continue
            seen.add(path.resolve())  # mysqldump is a link to mariadb-dump in MariaDB's packages
            text = _version_text(path) or ""
            match = _CLIENT_VERSION.search(text)
            if match is None:
                refused.append(Refusal(path, origin, f"its --version names no release: {text.strip()[:120]!r}"))
                continue
            found.append(DumpTool(path=path, flavour="mariadb" if "mariadb" in text.lower() else "mysql",
                                  version=match.group(1) or match.group(2), origin=origin))
    return Installations(tuple(found), tuple(refused))


def choose_dump_tool(tools: Installations[DumpTool], *, flavour: str, release: tuple[int, int],
                     server: str) -> DumpTool:
    """The dump tool for the `server` (of `flavour` and `release`) being captured: of its flavour at the lowest
    release at least the server's, else the newest older one of its flavour (it may not know what the server's
    release added), else the other flavour's newest (it may leave out what only the server's flavour has); one
    the user named first. Any tool that names its release is taken (either flavour's dumps the other's server; the
    caller says what that may cost); none at all is an error naming the release to install."""
    def rank(t: DumpTool) -> tuple[int, int, int]:
        if t.flavour == flavour and t.release >= release:
            return (0, *t.release)
        return (1 if t.flavour == flavour else 2, -t.release[0], -t.release[1])

    if chosen := nearest(tools, rank):
        return chosen
    raise NoSuitableServerError(
        f"no mariadb-dump or mysqldump here to dump the {server} server" + tools.refused_text(),
        hint=f"install {dump_package(flavour, release)}, or pass --bin-dir DIR naming one")


def dump_package(flavour: str, release: tuple[int, int]) -> str:
    """What to install for a dump tool of `flavour` and `release`, in words."""
    package = "mariadb-client" if flavour == "mariadb" else "mysql-client (or mysql-community-client)"
    return f"the {series(flavour, release)} dump tool (the {package} package of that release)"
