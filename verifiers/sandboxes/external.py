"""The guard rails of the `external` sandbox, a server the user provides: restoring there is refused unless the
user opted in (`allow_external = true` on the store's sandbox, or `--allow-external-sandbox`), and the harness
only ever writes to, and drops, scratch databases this process created itself.

A scratch database is named `restoreproof_scratch_<random>` and marked in the server (a PostgreSQL
`COMMENT ON DATABASE`, a marker table for MySQL, for Redis the db must be empty before); it is dropped only
when its name was created by this process *and* the server-side marker still says so.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from verifiers.errors import SandboxError
from verifiers.store_settings import ExternalSandbox

SCRATCH_PREFIX = "restoreproof_scratch_"
MARKER_PREFIX = "restoreproof scratch database"
OPT_IN_FLAG = "--allow-external-sandbox"
_created: set[str] = set()
_lock = threading.Lock()


def require_opt_in(store: str, settings: ExternalSandbox, target: str) -> None:
    """Refuse a server the harness did not start unless the user said, explicitly, that it is a throwaway one."""
    if not settings.allow_external:
        raise SandboxError(
            f"store {store}: refusing to restore into {target}, a server restoreproof did not start "
            "(sandbox type external)",
            hint=f"if it is a throwaway server, set allow_external = true in the store's sandbox table or pass "
            f"{OPT_IN_FLAG}; otherwise use sandbox = \"local\" or \"docker\"")


def new_scratch_name() -> str:
    """A fresh scratch database name, remembered as created by this process."""
    name = SCRATCH_PREFIX + secrets.token_hex(6)
    with _lock:
        _created.add(name)
    return name


def marker(name: str) -> str:
    """The text marking `name` as ours on the server (compared exactly before the drop)."""
    return f"{MARKER_PREFIX} {name}, created by {socket.gethostname()} pid {os.getpid()}"


def ensure_ours(store: str, name: str, found_marker: str | None, target: str) -> None:
    """Raise unless `name` was created by this process and the server still carries its marker."""
    with _lock:
        created_here = name in _created
    if not name.startswith(SCRATCH_PREFIX) or not created_here:
        raise SandboxError(f"store {store}: refusing to drop database {name!r} on {target}: this run did not "
                           "create it", hint="restoreproof only drops scratch databases it created itself")
    if found_marker != marker(name):
        raise SandboxError(f"store {store}: refusing to drop scratch database {name!r} on {target}: its marker is "
                           f"{'missing' if found_marker is None else 'not the one this run wrote'}",
                           hint=f"check who else uses that server; drop {name} by hand once you are sure")


def forget(name: str) -> None:
    with _lock:
        _created.discard(name)


def display_target(dsn_or_url: str, *, host: str | None = None, port: int | str | None = None) -> str:
    """`host:port` of a DSN or URL, for messages: never the user name or password."""
    if host is None and "://" in dsn_or_url:
        parts = urlsplit(dsn_or_url)
        host, port = parts.hostname, _port(parts)
    return f"{host or 'localhost'}{f':{port}' if port else ''}"


def _port(parts: Any) -> int | None:
    try:
        return int(parts.port) if parts.port else None
    except ValueError:
        return None
