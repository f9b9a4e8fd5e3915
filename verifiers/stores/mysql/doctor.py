"""The mysql kind's part of `restoreproof doctor`: the MariaDB / MySQL installations a restore would choose from
(installations.find_installations, as a restore finds them), and whether a store's sandbox has one: for a local
backup the dump's header says which flavour and release it needs (sandbox.installation_for, the rule a restore
follows; the file only opened)."""

from __future__ import annotations

from pathlib import Path

from verifiers.diagnosis import Finding, Installed, KindServers, backup_header, fail, ok
from verifiers.errors import SandboxError
from verifiers.stores.mysql.archive import read_header
from verifiers.stores.mysql.installations import MysqlInstallation, find_installations
from verifiers.stores.mysql.sandbox import installation_for
from verifiers.stores.mysql.settings import MysqlStore

INSTALL_HINT = ("install the distribution's mariadb-server (or mysql-server) package, or set "
                "RESTOREPROOF_MYSQL_BIN_DIR (sandbox.bin_dir) to its binaries")


def _installed(found: MysqlInstallation) -> Installed:
    return Installed(engine=found.flavour, version=found.version, path=str(found.server), origin=found.origin)


class MysqlDoctor:
    extra = "mysql"

    def servers(self) -> KindServers:
        found = find_installations(None, None)
        return KindServers(installed=tuple(_installed(i) for i in found),
                           refused=tuple(r.describe() for r in found.refused if r.reason != "not found"),
                           missing_hint=INSTALL_HINT)

    def sandbox(self, store: MysqlStore, artifact: Path | None) -> list[Finding]:
        settings = store.sandbox
        role = "server" if settings.type == "local" else "client tools"
        try:
            found = find_installations(settings.bin_dir, settings.user)
        except SandboxError as exc:  # as root, no unprivileged user to run the server as
            return [fail(role, exc.message, exc.hint)]
        notes: list[Finding] = []
        header = backup_header(read_header, artifact, notes)
        if header is not None and artifact is not None:
            exact = settings.version_match == "exact" and bool(header.min_release[0])
            try:
                chosen = installation_for(store, header, exact=exact)
            except SandboxError as exc:
                return [*notes, fail(role, f"{artifact.name}: {exc.message}", exc.hint)]
            return [*notes, ok(role, f"{chosen.describe()}, for {artifact.name}")]
        usable = [i for i in found if i.tool("client") and (settings.type != "local" or i.tool("install_db"))]
        if not usable:
            available = ", ".join(i.describe() for i in found) or "none"
            return [*notes, fail(role, f"no MariaDB/MySQL with its client tools here; available: {available}"
                                 + found.refused_text(), INSTALL_HINT)]
        return [*notes, ok(role, usable[0].describe())]


DOCTORS = {"mysql": MysqlDoctor()}
