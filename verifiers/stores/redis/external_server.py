"""The `external` sandbox for a redis store: a Redis/Valkey server the user provides (`sandbox = {type =
"external", url = "redis://…", allow_external = true}`).

A running server loads an RDB only from its own disk at start, so the RDB goes in key by key: each value is cut
from the file as a DUMP payload (verifiers/stores/redis/dump_payload.py) and sent with `RESTORE key ttl payload
ABSTTL` into the db it was in. Guard rails, since this server is not ours:
- refused unless the user opted in (external.require_opt_in) and unless every db of the server is empty (INFO
  keyspace lists none): the measurement then sees exactly the backup, and nothing of the user's is touched;
- RESTORE never REPLACEs: a key someone else wrote meanwhile stops the restore (BUSYKEY);
- afterwards exactly the keys this run wrote are deleted (never FLUSHDB), on success and on failure; a db that
  still holds keys then (someone else wrote them) is reported, and those keys are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.connection import parse_url

from verifiers.errors import RestoreTimeoutError, SandboxError
from verifiers.sandboxes import SandboxInfo, external
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.redis.dump_payload import KeyPayload, RdbFormatError, iter_payloads
from verifiers.stores.redis.local_server import RdbLoadError
from verifiers.stores.redis.network_server import NetworkRedis
from verifiers.stores.redis.rdb import RdbHeader

log = logging.getLogger(__name__)
BATCH = 500  # RESTOREs per pipeline round trip
_VERSION_REFUSED = "payload version or checksum are wrong"


@dataclass(frozen=True)
class ExternalRedis(NetworkRedis):
    """The user's server, with the same `client(db)`/`info` as the harness's own servers."""

    url: str = ""

    def client(self, db: int = 0) -> redis.Redis:
        # from_url would let a db in the URL win over `db`: the options are parsed, then the db set
        parsed: dict[str, Any] = parse_url(self.url)  # type: ignore[no-untyped-call]
        options = {**parsed, "db": db, "socket_timeout": None, "socket_connect_timeout": 30}
        return redis.Redis.from_pool(redis.ConnectionPool(**options))

    def describe(self) -> str:
        return f"{self.info.engine} {self.info.version} (external, {self.info.details.get('target', '?')})"


@dataclass
class _Written:
    keys: dict[int, list[bytes]] = field(default_factory=dict)

    def add(self, db: int, key: bytes) -> None:
        self.keys.setdefault(db, []).append(key)

    @property
    def total(self) -> int:
        return sum(len(k) for k in self.keys.values())


@contextmanager
def external_redis(store: str, settings: ExternalSandbox, header: RdbHeader, rdb: Path, *,
                   timeout: float | None = None) -> Iterator[ExternalRedis]:
    """The user's server holding the RDB's keys (restored within `timeout` seconds, the store's
    restore_timeout); they are deleted again on every exit path."""
    url = settings.dsn.get_secret_value()
    target = _target(url)
    external.require_opt_in(store, settings, target)
    server = _connect(store, url, target)
    _require_empty(store, server, target)
    written = _Written()
    try:
        _restore(store, server, header, rdb, written, deadline=None if timeout is None else monotonic() + timeout)
        yield server
    finally:
        _remove(store, server, target, written)


def _target(url: str) -> str:
    """Where the server is, for messages: host:port or the socket path, never a user name or password."""
    parts = urlsplit(url)
    return f"unix:{parts.path}" if parts.scheme == "unix" else external.display_target(url)


def _connect(store: str, url: str, target: str) -> ExternalRedis:
    probe = ExternalRedis(host="", port=0, password="", url=url,
                          info=SandboxInfo(type="external", engine="?", version="?"))
    try:
        client = probe.client()
        try:
            info = client.info("server")
        finally:
            client.close()
    except (redis.RedisError, ValueError, OSError) as exc:
        message = str(exc).replace(url, target)
        raise SandboxError(f"store {store}: cannot connect to the external server {target}: {message}",
                           hint="check the sandbox url, the network path and the credentials") from None
    engine = "valkey" if info.get("valkey_version") or info.get("server_name") == "valkey" else "redis"
    version = str(info.get("valkey_version") or info.get("redis_version") or "?")
    return ExternalRedis(host="", port=0, password="", url=url,
                         info=SandboxInfo(type="external", engine=engine, version=version,
                                          details={"target": target}))


def _keyspace(server: ExternalRedis) -> dict[int, int]:
    client = server.client()
    try:
        info = client.info("keyspace")
    finally:
        client.close()
    return {int(name[2:]): int(v.get("keys", 0)) if isinstance(v, dict) else 0
            for name, v in info.items() if name.startswith("db") and name[2:].isdigit()}


def _require_empty(store: str, server: ExternalRedis, target: str) -> None:
    busy = {db: n for db, n in _keyspace(server).items() if n}
    if busy:
        shown = ", ".join(f"db{db} ({n} keys)" for db, n in sorted(busy.items()))
        raise SandboxError(f"store {store}: refusing to restore into the external server {target}: it already holds "
                           f"keys in {shown}; restoreproof restores a redis backup only into a server whose dbs are "
                           "all empty, and never deletes keys it did not write",
                           hint="point the sandbox at an empty throwaway server (e.g. a CI service container)")


def _restore(store: str, server: ExternalRedis, header: RdbHeader, rdb: Path, written: _Written, *,
             deadline: float | None) -> None:
    clients: dict[int, redis.Redis] = {}
    pending: dict[int, list[KeyPayload]] = {}
    try:
        for item in iter_payloads(rdb):
            if deadline is not None and monotonic() > deadline:
                # an error, not a verdict on the backup: the harness could not finish restoring it in time
                raise RestoreTimeoutError(
                    f"store {store}: restoring {rdb.name} key by key into the external server did not finish within "
                    f"restore_timeout ({written.total} keys restored so far); the restored keys are deleted",
                    hint=f"raise restore_timeout for store {store} if the backup is just large")
            batch = pending.setdefault(item.db, [])
            batch.append(item)
            if len(batch) >= BATCH:
                _send(store, server, header, clients, item.db, batch, written)
                batch.clear()
        for db, batch in pending.items():
            _send(store, server, header, clients, db, batch, written)
    except RdbFormatError as exc:
        raise RdbLoadError(f"restoring it key by key stopped: {exc.message.removeprefix(f'{rdb.name}: ')}",
                           hint=exc.hint) from None
    finally:
        for client in clients.values():
            client.close()


def _send(store: str, server: ExternalRedis, header: RdbHeader, clients: dict[int, redis.Redis], db: int,
          batch: list[KeyPayload], written: _Written) -> None:
    if not batch:
        return
    client = clients.get(db) or clients.setdefault(db, server.client(db))
    pipe = client.pipeline(transaction=False)
    for item in batch:
        if item.expires_ms is None:
            pipe.restore(item.key, 0, item.payload)
        else:
            pipe.restore(item.key, item.expires_ms, item.payload, absttl=True)
    try:
        replies = pipe.execute(raise_on_error=False)
    except redis.ConnectionError as exc:
        raise SandboxError(f"store {store}: lost the external server while restoring: {exc}",
                           hint="check the server is up and has memory for the backup") from None
    failure: tuple[KeyPayload, Exception] | None = None
    for item, reply in zip(batch, replies, strict=True):
        if isinstance(reply, Exception):
            failure = failure or (item, reply)
        else:
            written.add(db, item.key)
    if failure:
        _refused(store, server, header, db, *failure)


def _refused(store: str, server: ExternalRedis, header: RdbHeader, db: int, item: KeyPayload,
             error: Exception) -> None:
    """Why a RESTORE failed, without the key name (values and names stay out of reports)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    where = f"{server.info.engine} {server.info.version} ({server.info.details.get('target', '?')})"
    if _VERSION_REFUSED in text:
        raise RdbLoadError(f"{where} refused the backup's values: they are {header.describe}, newer than this "
                           f"server reads (RESTORE: {text})",
                           hint="use an external server at least as new as the one that wrote the backup") from None
    if "BUSYKEY" in text:
        raise SandboxError(f"store {store}: a key of db{db} appeared on {where} while restoring (someone else is "
                           "writing to this server)", hint="use a server nobody else uses") from None
    if "DB index is out of range" in text:
        raise SandboxError(f"store {store}: {where} has no db{db}, which the backup uses ({text})",
                           hint=f"start the server with --databases {db + 1} or more") from None
    raise RdbLoadError(f"{where} refused a {item.type_name} value of db{db} (RESTORE: {text})") from None


def _remove(store: str, server: ExternalRedis, target: str, written: _Written) -> None:
    """Delete exactly what this run wrote; report (and leave alone) keys someone else put in those dbs."""
    foreign: dict[int, int] = {}
    for db, keys in sorted(written.keys.items()):
        client = server.client(db)
        try:
            for start in range(0, len(keys), BATCH):
                client.delete(*keys[start:start + BATCH])
            left = int(client.dbsize())
        except redis.RedisError as exc:
            raise SandboxError(f"store {store}: could not delete the {len(keys)} keys restoreproof restored into "
                               f"db{db} of {target}: {exc}",
                               hint=f"delete them by hand (FLUSHDB on db{db} if nobody else uses it)") from None
        finally:
            client.close()
        if left:
            foreign[db] = left
    log.info("store %s: deleted the %d keys restored into %s", store, written.total, target)
    if foreign:
        shown = ", ".join(f"db{db} ({n} keys)" for db, n in sorted(foreign.items()))
        raise SandboxError(f"store {store}: after deleting the keys it restored, {target} still holds keys in "
                           f"{shown} that restoreproof did not write; it left them in place",
                           hint="someone else wrote to the throwaway server during the run: check who uses it")
