"""Where a backup is restored: a disposable server that is always torn down.

A sandbox is a context manager yielding connection facts for the store's code; leaving it (success,
failure, timeout, Ctrl-C, SIGTERM) stops the server and removes everything it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SandboxInfo:
    """What evidence records about a sandbox: its type, the engine and its version, and for a cloud sandbox
    what identifies it (e.g. `instance_arn`)."""

    type: str
    engine: str
    version: str
    details: Mapping[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, str]:
        """The evidence's flat `sandbox` record: type, engine, version, then the details."""
        own = {"type": self.type, "engine": self.engine, "version": self.version}
        return {**own, **{k: v for k, v in self.details.items() if k not in own}}
