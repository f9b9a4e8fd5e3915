"""Where a backup is restored: a disposable server that is always torn down.

A sandbox is a context manager yielding connection facts for the store's code; leaving it (success,
failure, timeout, Ctrl-C, SIGTERM) stops the server and removes everything it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxInfo:
    """What evidence records about a sandbox: its type, the engine and its version."""

    type: str
    engine: str
    version: str
