"""MySQL / MariaDB connection strings: `mysql://user:password@host:3306/database?unix_socket=/path` (also
`mariadb://`) or `key=value` pairs (`host=db user=backup password=... database=app`). The password only ever
goes to PyMySQL and into 0600 option files: never onto a command line, never into a message."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from verifiers.errors import CaptureError

SCHEMES = ("mysql", "mariadb")
DSN_HINT = "write it as mysql://USER:PASSWORD@HOST:PORT/DATABASE (or unix_socket=PATH user=... database=...)"
_KEYS = {"host": "host", "port": "port", "user": "user", "password": "password", "database": "database",
         "dbname": "database", "db": "database", "unix_socket": "unix_socket", "socket": "unix_socket",
         "ssl_ca": "ssl_ca", "ssl-ca": "ssl_ca"}


@dataclass(frozen=True)
class MysqlTarget:
    database: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    unix_socket: str | None = None
    ssl_ca: str | None = None

    def redacted(self) -> str:
        """The target as a message may show it: no password."""
        auth = quote(self.user or "", safe="") + (":***" if self.password else "")
        where = self.host or "localhost"
        if self.port:
            where += f":{self.port}"
        text = f"mysql://{auth}@{where}/{quote(self.database, safe='')}"
        if self.unix_socket:
            text += f"?unix_socket={self.unix_socket}"
        return text

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"database": self.database, "charset": "utf8mb4", "connect_timeout": 10}
        for key in ("host", "port", "user", "password", "unix_socket"):
            if (value := getattr(self, key)) is not None:
                kwargs[key] = value
        if self.ssl_ca:
            kwargs["ssl"] = {"ca": self.ssl_ca}
        return kwargs

    def client_options(self) -> dict[str, str]:
        """`[client]` options for the dump tool's 0600 option file."""
        options: dict[str, str] = {}
        for key, name in (("host", "host"), ("port", "port"), ("user", "user"), ("password", "password"),
                          ("unix_socket", "socket"), ("ssl_ca", "ssl-ca")):
            if (value := getattr(self, key)) is not None:
                options[name] = str(value)
        if self.host and not self.unix_socket:
            options["protocol"] = "tcp"  # "localhost" would otherwise mean the default socket
        return options


def parse_dsn(dsn: str, *, what: str = "capture mysql") -> MysqlTarget:
    """A MysqlTarget, or CaptureError saying what is wrong without repeating the DSN's password; messages
    start with `what` (the command, or the inventory field the DSN came from)."""
    text = dsn.strip()
    fields = _from_url(text, what) if "://" in text else _from_pairs(text, what)
    database = fields.pop("database", None)
    if not database:
        raise CaptureError(f"{what}: the DSN names no database", hint=DSN_HINT)
    port = fields.pop("port", None)
    try:
        port_number = int(port) if port else None
    except ValueError:
        raise CaptureError(f"{what}: the DSN's port {port!r} is not a number", hint=DSN_HINT) from None
    if port_number is not None and not 0 < port_number < 65536:
        raise CaptureError(f"{what}: the DSN's port {port_number} is out of range", hint=DSN_HINT)
    return MysqlTarget(database=database, port=port_number, **fields)


def _from_url(text: str, what: str) -> dict[str, str]:
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise CaptureError(f"{what}: the DSN is not a valid URL (check the port and special characters; "
                           "percent-encode them in the password)", hint=DSN_HINT) from None
    if parts.scheme not in SCHEMES:
        raise CaptureError(f"{what}: the DSN's scheme {parts.scheme!r} is not one of {', '.join(SCHEMES)}",
                           hint=DSN_HINT)
    fields = {"database": unquote(parts.path.lstrip("/")), "host": parts.hostname,
              "port": str(port) if port else None,
              "user": unquote(parts.username) if parts.username else None,
              "password": unquote(parts.password) if parts.password is not None else None}
    for key, values in parse_qs(parts.query).items():
        fields[_known(key, what)] = values[-1]
    return {k: v for k, v in fields.items() if v}


def _from_pairs(text: str, what: str) -> dict[str, str]:
    try:
        words = shlex.split(text)
    except ValueError:
        raise CaptureError(f"{what}: the DSN has an unbalanced quote", hint=DSN_HINT) from None
    fields: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            # The odd word out may be a password: never repeat it.
            raise CaptureError(f"{what}: a part of the DSN is not key=value", hint=DSN_HINT)
        fields[_known(key, what)] = value
    if "unix_socket" in fields and not Path(fields["unix_socket"]).is_absolute():
        raise CaptureError(f"{what}: unix_socket must be an absolute path", hint=DSN_HINT)
    return fields


def _known(key: str, what: str) -> str:
    if key not in _KEYS:
        raise CaptureError(f"{what}: unknown DSN parameter {key[:40]!r}; known: "
                           f"{', '.join(sorted(set(_KEYS)))}", hint=DSN_HINT)
    return _KEYS[key]
