"""What `restoreproof doctor` found, as one value: each store kind, the shared sandboxes, each inventory store,
the archive and the signing key, the inventory's discovery; and the verdict (exit 1 when a store cannot be verified
here, the configured archive or signing key cannot be used, or discovery cannot list a service)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifiers import __version__
from verifiers.diagnosis import Finding, KindServers, Status, ok, warn, worst

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class KindReport:
    """One store kind on this machine: its extra, and what its doctor found (None when it could not run)."""

    kind: str
    extra: str | None
    missing: tuple[str, ...]
    servers: KindServers | None
    problem: Finding | None = None

    @property
    def status(self) -> Status:
        absent = self.servers is not None and self.servers.missing_hint is not None and not self.servers.installed
        return "warn" if self.problem or self.missing or absent else "ok"

    def findings(self) -> list[Finding]:
        found: list[Finding] = []
        if self.extra and self.missing:
            found.append(warn("extra", f"the '{self.extra}' extra is not installed ({', '.join(self.missing)})",
                              f"pip install 'restoreproof[{self.extra}]'"))
        if self.problem:
            found.append(self.problem)
        servers = self.servers
        if servers is not None:
            found += [ok("found", i.describe()) for i in servers.installed]
            if servers.missing_hint and not servers.installed:
                where = f" (looked in {servers.looked_in})" if servers.looked_in else ""
                found.append(warn("found", f"no server or client tools found{where}", servers.missing_hint))
            found += [ok("note", note) for note in servers.notes]
            found += [warn("refused", refused) for refused in servers.refused]
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "extra": self.extra, "extra_installed": not self.missing,
                **({"pip_install": f"pip install 'restoreproof[{self.extra}]'"} if self.missing else {}),
                "servers": self.servers.as_dict() if self.servers else None,
                "findings": [f.as_dict() for f in self.findings()]}


@dataclass(frozen=True)
class StoreReport:
    name: str
    kind: str
    suite: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> Status:
        return worst(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "suite": self.suite, "status": self.status,
                "verifiable_here": self.status != "fail", "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True)
class Diagnosis:
    kinds: tuple[KindReport, ...]
    sandboxes: tuple[Finding, ...]
    inventory: Path | None
    stores: tuple[StoreReport, ...]
    archive: tuple[Finding, ...]
    signing_key: Finding
    probe: bool
    discovery: tuple[Finding, ...] = ()  # none: the inventory has no [discovery]

    @property
    def discovery_fails(self) -> bool:
        """A configured discovery that cannot list everything here: every run's coverage check would fail."""
        return worst(self.discovery) == "fail" if self.discovery else False

    @property
    def cannot_verify(self) -> list[str]:
        return [s.name for s in self.stores if s.status == "fail"]

    @property
    def exit_code(self) -> int:
        unusable = worst([*self.archive, self.signing_key]) == "fail"
        return EXIT_FAILED if self.cannot_verify or unusable or self.discovery_fails else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.exit_code == EXIT_OK, "exit_code": self.exit_code, "restoreproof": __version__,
                "python": sys.version.split()[0], "probe": self.probe,
                "kinds": [k.as_dict() for k in self.kinds],
                "sandboxes": [f.as_dict() for f in self.sandboxes],
                "inventory": str(self.inventory) if self.inventory else None,
                "stores": [s.as_dict() for s in self.stores], "cannot_verify": self.cannot_verify,
                "archive": [f.as_dict() for f in self.archive], "signing_key": self.signing_key.as_dict(),
                "discovery": [f.as_dict() for f in self.discovery] if self.discovery else None}
