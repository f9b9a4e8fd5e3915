"""The `external` sandbox for a mongo store: a mongod or replica set the user provides (`sandbox = {type =
"external", dsn = "mongodb://…", allow_external = true}`; `url` is accepted for `dsn`), e.g. a CI service
container.

The discipline of verifiers/sandboxes/external.py, for MongoDB:
- refused unless the user opted in (external.require_opt_in), before any connection;
- every database of the dump gets a scratch database of its own, `restoreproof_scratch_<random>` (one
  external.new_scratch_name() each: 33 bytes, well within MongoDB's 63, none of `/\\. "$`); a name the server
  already has is refused, and each is marked with a `restoreproof_scratch_marker` collection holding one
  document with external.marker(name);
- the store's code restores and measures through the sandbox's NamespaceMap (source db -> scratch db): nothing
  else on the server is written or read, the marker collection is never measured, and checks see the
  backup's own `db.collection` names;
- afterwards, on success, failure and interruption, exactly the scratch databases this run created are
  dropped, each only after external.ensure_ours() with the marker read back from the server.
The URI's user name and password never appear in messages or evidence (only host:port, via display_target).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo import MongoClient
from pymongo.errors import CollectionInvalid, OperationFailure, PyMongoError

from verifiers.errors import SandboxError
from verifiers.sandboxes import SandboxInfo, external
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.mongo.engine import ServerEngine, server_engine
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.namespaces import NamespaceMap, valid_db_name

log = logging.getLogger(__name__)
MARKER_COLLECTION = "restoreproof_scratch_marker"  # a collection, as MongoDB has no database comments
MARKER_ID = "restoreproof"
SCHEMES = ("mongodb://", "mongodb+srv://")
ClientFactory = Callable[..., MongoClient[Any]]


@dataclass(frozen=True)
class ExternalMongo(MongoServer):
    """The user's server as the store's code sees every mongo sandbox: `client()`, the tools' connection,
    and the namespace map to its scratch databases. `uri` is only the display form (no login)."""

    secret_uri: str = field(default="", repr=False)
    connect: ClientFactory = field(default=MongoClient, repr=False, compare=False)

    def client(self, *, timeout_ms: int = 10_000) -> MongoClient[Any]:
        # the user's URI as given: it may name a replica set, TLS, authSource or an SRV record
        return self.connect(self.secret_uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                            appname="restoreproof")

    def tool_connection(self) -> tuple[list[str], dict[str, str]]:
        return [], {"uri": self.secret_uri}  # the whole URI in mongorestore's 0600 --config file


def target_of(uri: str) -> str:
    """Where the server is, for messages: its host(s) and port(s), never the user name or password."""
    hosts = urlsplit(uri).netloc.rpartition("@")[2]
    if "," in hosts:  # a replica set seed list: urlsplit reads only one host
        return hosts
    shown = external.display_target(uri)
    return f"{shown} (srv)" if uri.startswith("mongodb+srv://") else shown


def _scrub(text: str, uri: str, target: str) -> str:
    """A driver message without the URI or its password (a driver may echo either)."""
    text = text.replace(uri, target)
    userinfo = urlsplit(uri).netloc.rpartition("@")[0]
    password = userinfo.partition(":")[2]
    for secret in {userinfo, password, unquote(password)} - {""}:
        text = text.replace(secret, "***")
    return text


@contextmanager
def external_mongod(store: str, settings: ExternalSandbox, databases: Sequence[str], *, readiness: Readiness,
                    connect: ClientFactory = MongoClient) -> Iterator[ExternalMongo]:
    """The user's server with a marked scratch database per database of the dump (`databases`), all dropped
    again on every exit path. `connect` is pymongo's MongoClient (the seam the unit tests fake)."""
    uri = settings.dsn.get_secret_value()  # a SecretStr: never in a repr or a log
    if not uri.startswith(SCHEMES):
        raise SandboxError(f"store {store}: sandbox.dsn of a mongo store must be a mongodb:// or mongodb+srv:// URI",
                           hint="e.g. dsn = \"mongodb://ci:PASSWORD@mongo:27017/?authSource=admin\"")
    target = target_of(uri)
    external.require_opt_in(store, settings, target)
    timeout_ms = max(1000, int(readiness.timeout * 1000))
    parts = urlsplit(uri)
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"  # hosts only: no login, no options
    probe = ExternalMongo(uri=shown, secret_uri=uri, connect=connect,
                          info=SandboxInfo(type="external", engine="mongodb", version="?"))
    names = {db: external.new_scratch_name() for db in sorted(set(databases))}
    created: list[str] = []
    failing = True
    try:
        engine = _create_scratch(store, probe, list(names.values()), created, target=target, timeout_ms=timeout_ms)
        namespaces = NamespaceMap.renamed(names.items(), hidden=[MARKER_COLLECTION])
        yield replace(probe, namespaces=namespaces, info=SandboxInfo(
            type="external", engine=engine.engine, version=engine.version,
            details={"target": target, "databases": namespaces.describe() or "none", **engine.details,
                     **({} if engine.engine == "mongodb" else {"server": f"{engine.describe()}, not MongoDB"})}))
        failing = False
    finally:
        try:
            if created:
                _drop_scratch(store, probe, created, target=target, failing=failing)
        finally:
            for name in names.values():
                external.forget(name)


def _create_scratch(store: str, server: ExternalMongo, names: list[str], created: list[str], *, target: str,
                    timeout_ms: int) -> ServerEngine:
    """Create and mark each scratch database (appended to `created` as soon as it exists); which server it
    is."""
    uri = server.secret_uri
    try:
        client = server.client(timeout_ms=timeout_ms)
    except (PyMongoError, ValueError, TypeError) as exc:  # e.g. a malformed URI or option
        raise SandboxError(f"store {store}: sandbox.dsn is not a usable MongoDB URI: {_scrub(str(exc), uri, target)}",
                           hint="see https://www.mongodb.com/docs/manual/reference/connection-string/") from None
    try:
        engine = server_engine(client)
        existing = _existing(client, names)
        for name in names:
            if not valid_db_name(name):
                raise SandboxError(f"store {store}: {name!r} is not a valid MongoDB database name",
                                   hint="report this: scratch names are generated")
            if name in existing:
                raise SandboxError(f"store {store}: database {name} already exists on {target}; refusing to touch "
                                   "a database this run did not create", hint="run again (names are random)")
        for name in names:
            try:
                client[name].create_collection(MARKER_COLLECTION, check_exists=True)
            except CollectionInvalid:  # appeared since the listing: someone else's
                raise SandboxError(f"store {store}: database {name} appeared on {target} while restoreproof was "
                                   "creating it; refusing to touch a database this run did not create",
                                   hint="check who else uses that server") from None
            created.append(name)
            client[name][MARKER_COLLECTION].insert_one({"_id": MARKER_ID, "marker": external.marker(name)})
        return engine
    except PyMongoError as exc:
        raise SandboxError(f"store {store}: cannot create a scratch database on the external server {target}: "
                           f"{_scrub(_first_line(exc), uri, target)}",
                           hint="the URI's user needs to create and drop databases (e.g. the readWriteAnyDatabase "
                           "and dbAdminAnyDatabase roles); check host, port and credentials") from None
    finally:
        client.close()


def _existing(client: MongoClient[Any], names: list[str]) -> set[str]:
    """Which of `names` the server already has. By listDatabases; a server that refuses it (mongoeco 4.11 once any
    database holds a Decimal128, Regex, Timestamp, MinKey, MaxKey or DBRef: issue 26) is asked per name: a MongoDB
    database exists exactly while it holds a collection, and create_collection(check_exists=True) guards the race after
    either answer."""
    try:
        return set(client.list_database_names())
    except OperationFailure:
        return {name for name in names if client[name].list_collection_names()}


def _drop_scratch(store: str, server: ExternalMongo, names: list[str], *, target: str, failing: bool) -> None:
    """Drop each scratch database this run created whose marker the server still holds; the others are left
    and reported. Raises the first problem unless an earlier error is already on its way (then logs)."""
    problems: list[SandboxError] = []
    try:
        client = server.client()
    except PyMongoError as exc:
        problems.append(_cannot_drop(store, names, target, _scrub(str(exc), server.secret_uri, target)))
    else:
        try:
            for name in names:
                try:
                    _drop_one(store, client, name, target)
                except SandboxError as exc:
                    problems.append(exc)
                except PyMongoError as exc:
                    problems.append(_cannot_drop(store, [name], target,
                                                 _scrub(_first_line(exc), server.secret_uri, target)))
        finally:
            client.close()
    for problem in problems[1:] if not failing else problems:
        log.error("%s (%s)", problem, problem.hint)
    if problems and not failing:
        raise problems[0]


def _drop_one(store: str, client: MongoClient[Any], name: str, target: str) -> None:
    db = client[name]
    found = list(db[MARKER_COLLECTION].find({}, limit=2))
    if not found and not db.list_collection_names():
        log.warning("store %s: scratch database %s was already gone from %s", store, name, target)
        return
    mark = found[0].get("marker") if len(found) == 1 else None
    external.ensure_ours(store, name, mark if isinstance(mark, str) else None, target)
    client.drop_database(name)
    log.info("store %s: dropped scratch database %s on %s", store, name, target)


def _cannot_drop(store: str, names: list[str], target: str, reason: str) -> SandboxError:
    return SandboxError(f"store {store}: could not drop scratch database(s) {', '.join(names)} on {target}: {reason}",
                        hint=f"drop them by hand once nobody uses them: db.getSiblingDB(\"{names[0]}\").dropDatabase()")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
