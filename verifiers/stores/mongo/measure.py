"""Facts of every collection, measured the same way from a dump (at capture) and from a restored server (at
verify): count and checksum over the documents' raw BSON, and the definitions of indexes and options."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from verifiers.errors import ArtifactFormatError
from verifiers.stores.hash_ranges import DEFAULT_SEGMENT_ITEMS
from verifiers.stores.mongo.archive import HINT_DAMAGED, MongoDump
from verifiers.stores.mongo.dochash import CollectionDigest, MalformedDocument, split_batch
from verifiers.stores.mongo.manifest import CollectionFacts
from verifiers.stores.mongo.metadata import definitions, dump_definitions, listed_type
from verifiers.stores.mongo.namespaces import NamespaceMap

log = logging.getLogger(__name__)
# The server's own databases: never part of an application's backup contents.
SERVER_DATABASES = frozenset({"local", "config"})
BATCH_SIZE = 1000


def measured(namespace: str) -> bool:
    """Application namespaces: not the server's databases, not `system.*` collections (users, roles, views'
    definitions, time series buckets: restored through their owners, not as data)."""
    db, _, coll = namespace.partition(".")
    return db not in SERVER_DATABASES and not coll.startswith("system.")


def selected(namespace: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return (measured(namespace) and any(fnmatchcase(namespace, g) for g in include)
            and not any(fnmatchcase(namespace, g) for g in exclude))


def facts_from_dump(dump: MongoDump, *,
                    segment_documents: int = DEFAULT_SEGMENT_ITEMS) -> dict[str, CollectionFacts]:
    """Reads every document once (checking the archive's CRCs on the way); `_id`-hash segments of about
    `segment_documents` documents each."""
    entries = {c.namespace: c for c in dump.info.collections if measured(c.namespace)}
    digests = {ns: CollectionDigest() for ns, entry in entries.items() if entry.has_data}
    for namespace, raw in dump.documents():
        digest = digests.get(namespace)
        if digest is None:
            continue
        try:
            digest.add(raw)
        except MalformedDocument as exc:
            raise ArtifactFormatError(f"{dump.path}: document {digest.count + 1} of {namespace} is damaged ({exc})",
                                      hint=HINT_DAMAGED) from None
    facts = {}
    for namespace, entry in sorted(entries.items()):
        digest = digests.get(namespace)
        facts[namespace] = CollectionFacts(type=entry.type, documents=digest.count if digest else None,
                                           checksum=digest.checksum if digest else None,
                                           segments=digest.segments(segment_documents=segment_documents)
                                           if digest else None,
                                           definitions=dump_definitions(entry))
    return facts


def raw_documents(collection: Collection[Any], *, session: ClientSession | None = None) -> Iterator[bytes]:
    """Every document of a collection as stored (raw BSON batches, never decoded into Python values)."""
    for batch in collection.find_raw_batches({}, batch_size=BATCH_SIZE, session=session):
        yield from split_batch(batch)


def server_databases(client: MongoClient[Any], where: NamespaceMap, restored: Sequence[str] | None = None) -> list[str]:
    """The server databases to measure: the mapped ones, or (identity) every database the server lists.

    `restored`: the databases the restore wrote into a sandbox of the harness's own, measured when the server
    refuses listDatabases (mongoeco 4.11 once a database holds a Decimal128, Regex, Timestamp,
    MinKey, MaxKey or DBRef: issue 26). That sandbox was empty
    and the restore writes only the dump's databases, so they are all there is: a database the restore lost
    still shows as missing collections, and a dump holding more than its manifest fails the artifact check.
    Without `restored` the refusal is raised."""
    if not where.identity:
        return where.server_databases(())
    try:
        return where.server_databases(client.list_database_names())
    except OperationFailure:
        if restored is None:
            raise
        log.warning("the sandbox server refused listDatabases: measuring the %d database(s) the restore wrote",
                    len(restored))
        return sorted(set(restored))


def facts_from_server(client: MongoClient[Any], namespaces: NamespaceMap | None = None,
                      bits: Mapping[str, int] | None = None,
                      restored: Sequence[str] | None = None) -> dict[str, CollectionFacts]:
    """Every application collection of the server, under the backup's own `db.collection` (`namespaces` says
    which server database holds which of the backup's; by default each its own); `bits` cuts a namespace's
    segments as the manifest's were (by default about DEFAULT_SEGMENT_ITEMS documents each); `restored` as for
    server_databases."""
    where = namespaces or NamespaceMap()
    facts: dict[str, CollectionFacts] = {}
    for db_name in server_databases(client, where, restored):
        source = where.source_db(db_name)
        if source is None:
            continue
        db = client[db_name]
        for info in db.list_collections():
            namespace = f"{source}.{info['name']}"
            if not measured(namespace) or info["name"] in where.hidden:
                continue
            kind = listed_type(info)
            collection = db[info["name"]]
            indexes = [dict(i) for i in collection.list_indexes()] if kind != "view" else []
            defined = definitions(kind, dict(info.get("options") or {}), indexes)
            if kind != "collection":
                facts[namespace] = CollectionFacts(type=kind, definitions=defined)
                continue
            digest = CollectionDigest()
            for raw in raw_documents(collection):
                digest.add(raw)
            facts[namespace] = CollectionFacts(type=kind, documents=digest.count, checksum=digest.checksum,
                                               segments=digest.segments((bits or {}).get(namespace)),
                                               definitions=defined)
    return dict(sorted(facts.items()))
