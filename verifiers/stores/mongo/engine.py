"""Which server answers on a MongoDB wire connection, and which command or operator it says it lacks (issue 26).

A MongoDB-wire-compatible server (mongoeco, FerretDB) reports a MongoDB version in `buildInfo` (mongoeco 4.11:
"7.0.0") it is not: evidence names the engine that really ran (mongoeco sets `gitVersion` to "mongoeco",
FerretDB adds its own fields: `ferretdbVersion` in 1.x, a `ferretdb` document). `buildInfo` is sent under its
own name: pymongo's `server_info()` sends `buildinfo`, which mongoeco refuses.

A server without a command the verification needs makes that check fail as not verified, naming the command;
`unsupported` reads the name from the server's refusal (the names are the server's vocabulary, never data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

COMMAND_NOT_FOUND = 59  # mongod: a command it does not have
INVALID_PIPELINE_OPERATOR = 168  # mongod: an aggregation operator it does not have
_LACKING = (
    re.compile(r"no such (?:cmd|command): '?(?P<name>[A-Za-z_$][\w$]*)"),  # mongod
    re.compile(r"unsupported wire command: (?P<name>[A-Za-z_$][\w$]*)"),  # mongoeco 4.11 (no code)
    re.compile(r"Unrecognized (?:expression|pipeline stage name):? '(?P<name>\$\w+)'"),  # mongod has the colon
    re.compile(r"unknown (?:top level )?operator: (?P<name>\$\w+)"),
)


@dataclass(frozen=True)
class ServerEngine:
    """What evidence records about the server: `engine` ("mongodb", "mongoeco", "ferretdb"), its own version
    (or "?"), and what else it said (the MongoDB version a compatible server claims)."""

    engine: str
    version: str
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def speaks(self) -> str:
        """The MongoDB version whose behaviour the server offers (its own, or the one it claims)."""
        return self.details.get("reports_mongodb_version", self.version)

    def describe(self) -> str:
        if self.engine == "mongodb":
            return f"MongoDB {self.version}"
        return f"{self.engine} (reports MongoDB {self.speaks})"


def engine_of(build_info: Mapping[str, Any]) -> ServerEngine:
    claimed = str(build_info.get("version", "?"))
    ferret = build_info.get("ferretdb")
    if isinstance(ferret, Mapping) or "ferretdbVersion" in build_info:  # a `ferretdb` document, or v1's string
        own = ferret.get("version") if isinstance(ferret, Mapping) else build_info.get("ferretdbVersion")
        return ServerEngine("ferretdb", str(own or "?"), {"reports_mongodb_version": claimed})
    if str(build_info.get("gitVersion", "")).lower() == "mongoeco":
        # mongoeco does not say its own version on the wire; the MongoDB version it emulates is not it
        return ServerEngine("mongoeco", "?", {"reports_mongodb_version": claimed})
    return ServerEngine("mongodb", claimed)


def server_engine(client: MongoClient[Any]) -> ServerEngine:
    return engine_of(client.admin.command("buildInfo"))


def unsupported(exc: OperationFailure) -> str | None:
    """The command or operator the server says it does not have, else None (a refusal for another reason)."""
    message = str((exc.details or {}).get("errmsg", exc))
    for pattern in _LACKING:
        found = pattern.search(message)
        if found:
            return found["name"]
    if exc.code == COMMAND_NOT_FOUND:
        return "?"
    return None
