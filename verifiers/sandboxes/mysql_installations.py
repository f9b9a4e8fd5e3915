"""Where MariaDB / MySQL binaries are, and which of them can restore a dump.

Found in this order: the configured directory (sandbox.bin_dir), RESTOREPROOF_MYSQL_BIN_DIR, PATH, then the
distribution's places (/usr/sbin, /usr/local/mysql/bin). The server (`mariadbd` / `mysqld`) lives in sbin on
Debian, its client tools (`mariadb`, `mariadb-dump`, `mariadb-install-db`) in bin: an installation knows both.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Search, staged_note
from verifiers.sandboxes.process import unprivileged_user

USER_FALLBACKS = ("mysql", "nobody")
SERVERS = ("mariadbd", "mysqld")
SYSTEM_DIRS = ("/usr/sbin", "/usr/local/mysql/bin", "/usr/local/bin", "/usr/bin")
# "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for ..." / "mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL ...)"
_VERSION = re.compile(r"\bVer (\d+\.\d+\.\d+)(\S*)")
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
                        min_release: tuple[int, int], roles: tuple[str, ...], purpose: str) -> MysqlInstallation:
    """The first installation of `flavour`, at least `min_release`, with every tool of `roles`."""
    for inst in installations:
        if inst.flavour == flavour and inst.release >= min_release and all(inst.tool(r) for r in roles):
            return inst
    available = ", ".join(i.describe() for i in installations) or "none"
    label = "MariaDB" if flavour == "mariadb" else "MySQL"
    wanted = f"{label} {min_release[0]}.{min_release[1]} or newer"
    package = "mariadb-server" if flavour == "mariadb" else "mysql-server"
    raise NoSuitableServerError(
        f"no {wanted} with its {', '.join(roles)} tools to {purpose}; available: {available}"
        + installations.refused_text(),
        hint=f"install {wanted} (e.g. the distribution's {package} package) or set sandbox.bin_dir "
        "(or RESTOREPROOF_MYSQL_BIN_DIR) to its binaries",
    )


def find_dump_tool(bin_dir: str | None) -> Path:
    """The dump program capture runs: from `bin_dir` when given, else mariadb-dump / mysqldump on PATH."""
    dirs = [Path(bin_dir)] if bin_dir else [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    for directory in dirs:
        for name in TOOLS["dump"]:
            if os.access(directory / name, os.X_OK):
                return directory / name
    where = bin_dir or "PATH"
    raise NoSuitableServerError(f"no mariadb-dump or mysqldump in {where}",
                                hint="install the distribution's mariadb-client (or mysql-client) package, "
                                "or pass --bin-dir DIR")
