"""The mongo kind's part of `restoreproof doctor`: the mongod a local sandbox would run (installations.py, as a
restore finds it; no wheel or Debian package brings one), noted beside it the mongoeco a store may ask for with
`server = "mongoeco"` (wire_installation.py; not MongoDB, so never counted as its server), and whether a store's
sandbox has what it needs. A container or an external server needs nothing local: the dump is restored through
pymongo when mongorestore is absent. Imports no driver, so that it answers without the mongo extra too."""

from __future__ import annotations

import os
from pathlib import Path

from verifiers.diagnosis import Finding, Installed, KindServers, fail, ok
from verifiers.errors import SandboxError
from verifiers.stores.mongo.installations import INSTALL_HINT, find_mongod, installation
from verifiers.stores.mongo.settings import MongoLocalSandbox, MongoStore
from verifiers.stores.mongo.wire_installation import PYTHON_ENV, WHAT_IT_IS, find_python, mongoeco_installation


class MongoDoctor:
    extra = "mongo"

    def servers(self) -> KindServers:
        notes, refused = wire_server_note()
        if find_mongod(None) is None:
            return KindServers(missing_hint=INSTALL_HINT, looked_in="RESTOREPROOF_MONGO_BIN_DIR and PATH",
                               notes=notes, refused=refused)
        try:
            found = installation(None)
        except SandboxError as exc:
            return KindServers(refused=(exc.message, *refused), missing_hint=INSTALL_HINT, notes=notes)
        named = os.environ.get("RESTOREPROOF_MONGO_BIN_DIR")
        origin = "RESTOREPROOF_MONGO_BIN_DIR" if named and found.mongod.parent == Path(named) else "PATH"
        return KindServers(installed=(Installed(engine="mongod", version=found.version, path=str(found.mongod),
                                                origin=origin),), missing_hint=INSTALL_HINT, notes=notes,
                           refused=refused)

    def sandbox(self, store: MongoStore, artifact: Path | None) -> list[Finding]:
        settings = store.sandbox
        if settings.type != "local":
            return [ok("client tools", "none needed: restored through pymongo where mongorestore is absent")]
        if isinstance(settings, MongoLocalSandbox) and settings.server == "mongoeco":
            try:
                wire = mongoeco_installation(settings.bin_dir)
            except SandboxError as exc:
                return [fail("server", exc.message, exc.hint)]
            return [ok("server", f"{wire.describe()}: a {WHAT_IT_IS}")]
        try:
            found = installation(settings.bin_dir)
        except SandboxError as exc:
            return [fail("server", exc.message, exc.hint)]
        return [ok("server", found.describe())]


def wire_server_note() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """mongoeco as RESTOREPROOF_MONGOECO_PYTHON names it: a note when it serves, a refusal saying why when it
    cannot, nothing when none is configured (it is opted into, never looked for)."""
    if find_python(None) is None:
        return (), ()
    try:
        wire = mongoeco_installation(None)
    except SandboxError as exc:
        return (), (f"mongoeco ({PYTHON_ENV}): {exc.message}",)
    return (f"{wire.describe()} from {PYTHON_ENV}: a {WHAT_IT_IS}, for stores with sandbox.server = "
            '"mongoeco"',), ()


DOCTORS = {"mongo": MongoDoctor()}
