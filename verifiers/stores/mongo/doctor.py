"""The mongo kind's part of `restoreproof doctor`: the mongod a local sandbox would run (installations.py, as a
restore finds it; no wheel or Debian package brings one), and whether a store's sandbox has what it needs. A
container or an external server needs nothing local: the dump is restored through pymongo when mongorestore is
absent. Imports no driver, so that it answers without the mongo extra too."""

from __future__ import annotations

import os
from pathlib import Path

from verifiers.diagnosis import Finding, Installed, KindServers, fail, ok
from verifiers.errors import SandboxError
from verifiers.stores.mongo.installations import INSTALL_HINT, find_mongod, installation
from verifiers.stores.mongo.settings import MongoStore


class MongoDoctor:
    extra = "mongo"

    def servers(self) -> KindServers:
        if find_mongod(None) is None:
            return KindServers(missing_hint=INSTALL_HINT, looked_in="RESTOREPROOF_MONGO_BIN_DIR and PATH")
        try:
            found = installation(None)
        except SandboxError as exc:
            return KindServers(refused=(exc.message,), missing_hint=INSTALL_HINT)
        named = os.environ.get("RESTOREPROOF_MONGO_BIN_DIR")
        origin = "RESTOREPROOF_MONGO_BIN_DIR" if named and found.mongod.parent == Path(named) else "PATH"
        return KindServers(installed=(Installed(engine="mongod", version=found.version, path=str(found.mongod),
                                                origin=origin),), missing_hint=INSTALL_HINT)

    def sandbox(self, store: MongoStore, artifact: Path | None) -> list[Finding]:
        settings = store.sandbox
        if settings.type != "local":
            return [ok("client tools", "none needed: restored through pymongo where mongorestore is absent")]
        try:
            found = installation(settings.bin_dir)
        except SandboxError as exc:
            return [fail("server", exc.message, exc.hint)]
        return [ok("server", found.describe())]


DOCTORS = {"mongo": MongoDoctor()}
