"""MongoDB: mongodump output (an `--archive` file, gzipped or not, or an `--out` directory) restored into a
sandbox `mongod` (local process, or a container with `sandbox = "docker"`, or scratch databases on a server the
user provides with `sandbox = {type = "external", ...}`), measured there and judged against the manifest
`restoreproof capture mongo` wrote from the same dump."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import ArtifactFormatError, NoSuitableServerError, SandboxError
from verifiers.sandboxes import SandboxInfo
from verifiers.sources import Artifact, Located
from verifiers.store_settings import StoreSettings
from verifiers.stores import hash_ranges
from verifiers.stores.base import (
    KindPlan,
    StorePlan,
    StoreVerification,
    artifact_check,
    manifest_beside,
    narrowed,
    not_restored,
    restore_plan,
)
from verifiers.stores.mongo import corruption
from verifiers.stores.mongo.archive import MongoDump, open_dump
from verifiers.stores.mongo.engine import unsupported
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.manifest import CollectionFacts, MongoManifest, load_manifest
from verifiers.stores.mongo.measure import facts_from_server, selected
from verifiers.stores.mongo.metadata import current_form
from verifiers.stores.mongo.namespaces import NamespaceMap
from verifiers.stores.mongo.restore import (
    dump_databases,
    find_mongorestore,
    restore_with_mongorestore,
    restore_with_pymongo,
)
from verifiers.stores.mongo.sandbox import mongo_sandbox
from verifiers.stores.mongo.settings import MongoFilter, MongoStore
from verifiers.stores.restore_tool import RestoreOutcome, not_restorable, restore_check
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)
FILTER_TIMEOUT_MS = 300_000
COUNT_CHECK = "document_count"
ID_HASH = "_id-hash"  # an _id may be personal data: a differing collection is narrowed to ranges of its hash


class MongoKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, MongoStore)
        hint = ("capture backups with `restoreproof capture mongo` (or write a manifest for an existing dump with "
                "`restoreproof capture mongo --from-dump PATH`)")
        path = manifest_beside(store, located, capture_hint=hint)
        manifest = load_manifest(path, store=store.name)
        specs = [CheckSpec("collections", "collections")]
        for namespace, facts in selected_collections(store, manifest.collections).items():
            if facts.documents is not None:
                specs += [CheckSpec(COUNT_CHECK, namespace), CheckSpec("checksum", namespace)]
            specs.append(CheckSpec("schema", namespace))
        specs += [CheckSpec("assertion", f.name) for f in store.filters]
        if store.validate_collections:
            specs.append(corruption.SPEC)
        return restore_plan(store, located, MongoPlan(store, manifest), specs, reference_time=manifest.captured_at)


@dataclass(frozen=True)
class MongoPlan(KindPlan):
    """A mongodump archive or directory restored into a sandbox and compared with its manifest."""

    store: MongoStore
    manifest: MongoManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        name = Path(artifact.location).name
        result.checks.append(artifact_check(artifact, manifest.artifact))
        try:
            dump = open_dump(artifact.path)
        except ArtifactFormatError as exc:
            return not_restored(plan, result, "the artifact could not be restored",
                               not_restorable("not restorable", f"store {store.name}: {exc.describe()}"))
        try:
            restored = dump_databases(dump)  # what the restore writes (measured where listDatabases is refused)
            with mongo_sandbox(store, manifest, timer, databases=restored) as server:
                result.sandbox = server.info
                with timer.phase("restore"):
                    outcome = restore(server, dump, store, work_dir)
                    if outcome.timed_out:  # an `error` in restore, not a verdict (verifiers/stores/timeouts.py)
                        raise restore_timed_out(result, restore_check(outcome, name), store=store.name,
                                                artifact_name=name, tool=outcome.tool,
                                                seconds=outcome.timeout_seconds)
                result.checks.append(restore_check(outcome, name))
                with timer.phase("verify"):
                    observed, counts = measure_restored(server, store, manifest, restored)
                    if store.validate_collections:  # after the read-only measurement
                        counts.append(validate(server, store, restored))
        except NoSuitableServerError as exc:
            return not_restored(plan, result, "no MongoDB server here to restore into", not_restorable(
                "not restorable here", f"store {store.name}: {name} is {dump.info.describe()}; {exc.describe()}"))
        return judge(store, manifest.collections, observed) + counts


def restore(server: MongoServer, dump: MongoDump, store: MongoStore, work_dir: Path) -> RestoreOutcome:
    tool = find_mongorestore(store.sandbox.bin_dir)
    if tool is not None and not server.namespaces.empty:  # an empty map: nothing to restore, nor to run it on
        return restore_with_mongorestore(tool, server, dump, timeout=store.restore_timeout, log_dir=work_dir)
    client = server.client()
    try:
        return restore_with_pymongo(client, dump, timeout=store.restore_timeout, namespaces=server.namespaces)
    except PyMongoError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while restoring: {type(exc).__name__}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        client.close()


def validate(server: MongoServer, store: MongoStore, restored: Sequence[str] | None = None) -> CheckResult:
    client = server.client()
    try:
        return corruption.validate_collections(client, server.namespaces, full=store.validate_full,
                                               budget=store.validate_budget, store=store.name, restored=restored,
                                               engine=wire_compatible(server.info))
    finally:
        client.close()


def wire_compatible(info: SandboxInfo) -> str | None:
    """The server, when it is not MongoDB (mongoeco, FerretDB): what a check that read its answers names."""
    if info.engine == "mongodb":
        return None
    return info.engine if info.version in ("", "?") else f"{info.engine} {info.version}"


def selected_collections(store: MongoStore, collections: dict[str, CollectionFacts]) -> dict[str, CollectionFacts]:
    return {ns: f for ns, f in sorted(collections.items())
            if selected(ns, store.collections.include, store.collections.exclude)}


def measure_restored(server: MongoServer, store: MongoStore, manifest: MongoManifest,
                     restored: Sequence[str] | None = None) -> tuple[dict[str, CollectionFacts], list[CheckResult]]:
    """The restored collections' facts, their segments cut as the manifest's were, and the filters' counts.
    `restored`: the databases the restore wrote (measure.server_databases)."""
    bits = {ns: facts.segments.bits for ns, facts in manifest.collections.items() if facts.segments is not None}
    client = server.client()
    try:
        return (facts_from_server(client, server.namespaces, bits, restored=restored),
                [run_filter(client, f, server.namespaces) for f in store.filters])
    except PyMongoError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while verifying: {type(exc).__name__}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        client.close()


def run_filter(client: MongoClient[Any], expectation: MongoFilter,
               namespaces: NamespaceMap | None = None) -> CheckResult:
    """Count the documents matching the filter; a refused filter fails its check with the server's reason. A
    database the backup does not hold matches nothing (on an external server it is never read)."""
    db, _, coll = expectation.collection.partition(".")
    query = expectation.query()
    server_db = (namespaces or NamespaceMap()).server_db(db)
    if server_db is None:
        return checks.assertion(expectation.name, 0, minimum=expectation.min, maximum=expectation.max)
    try:
        found = client[server_db][coll].count_documents(query, maxTimeMS=FILTER_TIMEOUT_MS)
    except PyMongoError as exc:
        if not hasattr(exc, "code"):
            raise
        details = getattr(exc, "details", None) or {}
        reason = f"code {getattr(exc, 'code', '?')} ({details.get('codeName', type(exc).__name__)})"
        lacking = unsupported(exc) if isinstance(exc, OperationFailure) else None
        if lacking is not None:  # the server's own vocabulary, never a document value
            reason = f"not verified: the server does not know {lacking} ({reason})"  # lacked, or misspelt
        return checks.assertion(expectation.name, None, minimum=expectation.min, maximum=expectation.max,
                                error=f"{expectation.collection} {json_util.dumps(query)[:200]}: {reason}")
    return checks.assertion(expectation.name, found, minimum=expectation.min, maximum=expectation.max)


def judge(store: MongoStore, expected: dict[str, CollectionFacts],
          observed: dict[str, CollectionFacts]) -> list[CheckResult]:
    wanted, present = selected_collections(store, expected), selected_collections(store, observed)
    results = [checks.members("collections", "collections", set(present), set(wanted), noun="collections")]
    for namespace, want in wanted.items():
        got = present.get(namespace)
        if want.documents is not None:
            results.append(document_count(namespace, got.documents if got else None, want.documents))
            segments = got.segments if got else None
            results.append(checks.checksum(
                namespace, got.checksum if got else None, want.checksum or "",
                where=hash_ranges.narrowed(want.segments, segments, label=ID_HASH, noun="documents"),
                ranges=hash_ranges.differing_bounds(want.segments, segments, label=ID_HASH)))
        results.append(checks.schema(namespace, got.definitions if got else None, current_form(want.definitions)))
    return results


def document_count(namespace: str, observed: int | None, expected: int) -> CheckResult:
    if observed is None:
        return CheckResult(COUNT_CHECK, namespace, False, None, expected, f"{namespace} is missing after restore")
    passed = observed == expected
    message = (f"{observed} documents" if passed
               else f"{observed} documents restored, expected {expected} ({observed - expected:+d})")
    return CheckResult(COUNT_CHECK, namespace, passed, observed, expected, message)


KIND = MongoKind()
