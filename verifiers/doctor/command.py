"""`restoreproof doctor`: what this machine can verify, and why not where it cannot.

Five parts, each asked where it lives: every registered store kind's servers and client tools (its package's
doctor.py, through the registry: this module knows no kind), the sandbox types every kind shares (a Docker
engine), each inventory store (its kind's extra, its source's SDK, credentials and region, and a server for its
sandbox, the kind's answer), the evidence archive and signing key, and the inventory's `[discovery]`
(verifiers/doctor/discovery.py). No server is started; a version is read with `--version`, a local backup's header
by opening it; no cloud API is called without `--probe`. The verdict is the stores': exit 1 names each store that
cannot be verified here, a configured archive or key that cannot be used, and a discovery that cannot list a
service; what no store needs is a warning."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from verifiers.diagnosis import Finding, KindDoctor, fail, ok, warn
from verifiers.doctor import cloud, evidence
from verifiers.doctor.discovery import discovery_findings
from verifiers.doctor.report import render_text
from verifiers.doctor.results import Diagnosis, KindReport, StoreReport
from verifiers.errors import EmptyInventoryError, SourceError
from verifiers.evidence.defaults import ARCHIVE_ENV
from verifiers.extras import MissingExtraError, extra_of, missing_modules
from verifiers.inventory import Inventory, load_inventory
from verifiers.redaction import redact_secrets
from verifiers.sandboxes.docker import NO_ENGINE_HINT, engine_problem
from verifiers.sources.file import FileArtifacts
from verifiers.store_settings import AnyStore, ExternalSandbox, FileSource
from verifiers.stores import registry

DEFAULT_INVENTORY = Path("inventory.toml")


def run(args: argparse.Namespace) -> int:
    diagnosis = diagnose(inventory_path=args.inventory, archive=args.archive, signing_key=args.signing_key,
                         probe=args.probe)
    text = json.dumps(diagnosis.as_dict(), indent=2) if args.json else render_text(diagnosis)
    print(redact_secrets(text))  # the last line of defence: every finding already leaves secrets out
    return diagnosis.exit_code


def diagnose(*, inventory_path: Path | None, archive: str | None, signing_key: Path | None,
             probe: bool) -> Diagnosis:
    inventory = _inventory(inventory_path)
    cloud.forget()
    found = {kind: _kind(kind) for kind in registry.kinds()}
    kinds = tuple(report for report, _ in found.values())
    docker = _docker()
    stores = tuple(_store(store, inventory.base_dir, *found[store.kind], docker, probe=probe)
                   for store in inventory.stores) if inventory else ()
    machine_docker = tuple(Finding("warn" if f.status == "fail" else f.status, f.subject, f.detail, f.hint)
                           for f in docker)  # no store may need it: only a store's use makes it a failure
    return Diagnosis(kinds=kinds, sandboxes=machine_docker, inventory=inventory.path if inventory else None,
                     stores=stores, archive=tuple(evidence.archive_findings(
                         archive or os.environ.get(ARCHIVE_ENV), probe=probe)),
                     signing_key=evidence.signing_key_finding(signing_key), probe=probe,
                     discovery=tuple(discovery_findings(inventory.discovery if inventory else None, probe=probe)))


def _inventory(path: Path | None) -> Inventory | None:
    """The inventory given, else ./inventory.toml when there is one; without either only the machine is checked.
    One given that cannot be read is bad input (InventoryError, exit 2); one that lists no store yet (the
    starter `restoreproof init` writes) is checked as empty, and the report says so."""
    if path is None:
        if not DEFAULT_INVENTORY.is_file():
            return None
        path = DEFAULT_INVENTORY
    try:
        return load_inventory(path)
    except EmptyInventoryError:  # the starter `init` writes: the machine is still worth checking
        return Inventory(stores=[], path=path, base_dir=path.parent)


def _kind(kind: str) -> tuple[KindReport, KindDoctor | None]:
    """The kind on this machine, and its doctor (None when it has none or it cannot be imported here)."""
    try:
        doctor = registry.kind_doctor(kind)
    except MissingExtraError as exc:  # the registry names the extra of an SDK its doctor imports
        return KindReport(kind, exc.extra, tuple(missing_modules(exc.extra)) or ("?",), None), None
    except ImportError as exc:
        extra = extra_of(exc.name)
        if extra:  # the same, from a registry that lets ModuleNotFoundError through
            return KindReport(kind, extra, (exc.name or "?",), None), None
        return KindReport(kind, None, (), None, warn("doctor", f"the {kind} kind's doctor.py cannot be imported: "
                                                               f"{exc}", "reinstall restoreproof")), None
    if doctor is None:
        return KindReport(kind, None, (), None, ok("doctor", f"the {kind} kind has no doctor.py: its servers are "
                                                             "not listed")), None
    missing = tuple(missing_modules(doctor.extra)) if doctor.extra else ()
    return KindReport(kind, doctor.extra, missing, doctor.servers()), doctor


def _docker() -> list[Finding]:
    if missing := cloud.extra_finding("docker", 'sandbox = "docker"'):
        return [missing]
    problem = engine_problem()
    if problem:
        return [fail("docker engine", problem, NO_ENGINE_HINT)]
    return [ok("docker engine", f"answers ({os.environ.get('DOCKER_HOST') or 'the default socket'})")]


def _store(store: AnyStore, base_dir: Path, kind: KindReport, doctor: KindDoctor | None, docker: list[Finding], *,
           probe: bool) -> StoreReport:
    findings = [f for f in kind.findings() if f.subject in ("extra", "doctor") and f.status != "ok"]
    findings = [Finding("fail", f.subject, f"{store.kind} stores: {f.detail}", f.hint) if f.subject == "extra"
                else f for f in findings]
    fixes = {f.hint for f in findings}
    findings += [f for f in cloud.source_findings(store.source, probe=probe)
                 if not (f.subject == "extra" and f.hint in fixes)]  # the kind's extra named it already
    if store.source.type not in store.FILE_SOURCES:  # rds-snapshot, a bucket, a DynamoDB backup: the cloud's
        findings.append(ok("sandbox", f"none here: the {store.source.type} source is restored or read in the cloud"))
    elif doctor is not None or not kind.missing:  # a kind without its extra failed above already
        findings += _sandbox(store, base_dir, doctor, docker)
    return StoreReport(store.name, store.kind, store.suite_name, tuple(findings))


def _sandbox(store: AnyStore, base_dir: Path, doctor: KindDoctor | None, docker: list[Finding]) -> list[Finding]:
    sandbox = store.sandbox
    findings: list[Finding] = []
    if sandbox.type == "docker":
        findings += docker
    elif sandbox.type == "external":
        findings.append(ok("sandbox", "external: a server of yours (its DSN is not shown)")
                        if isinstance(sandbox, ExternalSandbox) and sandbox.allow_external else
                        warn("sandbox", "external: restored only with --allow-external-sandbox",
                             "pass --allow-external-sandbox, or set allow_external = true on the sandbox"))
    if doctor is None:
        return [*findings, warn("sandbox", f"whether this machine has what a {store.kind} {sandbox.type} sandbox "
                                "needs is not known (its kind's doctor did not run)")]
    artifact, located = _local_backup(store, base_dir)
    return [*findings, *located, *doctor.sandbox(store, artifact)]


def _local_backup(store: AnyStore, base_dir: Path) -> tuple[Path | None, list[Finding]]:
    """The newest backup when it is a local file (a glob, nothing fetched): the kind reads its header for the
    release it needs. A remote artifact is not downloaded."""
    if not isinstance(store.source, FileSource):
        return None, []
    try:
        located = FileArtifacts().locate(store.source, base_dir=base_dir, store=store.name)
    except SourceError as exc:
        return None, [warn("backup", exc.message, exc.hint)]
    return located.path, [ok("backup", str(located.path))]
