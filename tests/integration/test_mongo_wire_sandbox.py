"""The mongoeco sandbox (`sandbox = { server = "mongoeco" }`) against the real wire server: started and stopped
with nothing left, as root run as the sandbox user even from a 0700 clone, refused clearly where its interpreter
cannot serve, and a whole mongo store captured from one mongoeco restored into another and judged there.

mongoeco is found as `make mongoeco` installs it (RESTOREPROOF_MONGOECO_PYTHON, else .cache/mongoeco); where
there is no Python >= 3.13 it is not installed and these tests fail, saying what to install. The big dataset and the
negative fixtures against it are in tests/integration/test_mongo_wire.py."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson.int64 import Int64

from fixtures import build_demo
from tests.conftest import sandbox_dirs, sandbox_processes
from tests.mongo_wire_support import mongoeco_python
from verifiers import cli
from verifiers.errors import SandboxError
from verifiers.inventory import load_inventory, parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes.process import group_alive
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.staging import stage_root
from verifiers.stores.mongo.capture import capture_mongo
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.manifest import load_manifest
from verifiers.stores.mongo.settings import MongoStore
from verifiers.stores.mongo.wire_installation import PYTHON_ENV, MongoecoInstallation, mongoeco_installation
from verifiers.stores.mongo.wire_server import local_mongoeco

REPO = Path(__file__).resolve().parents[2]
AS_ROOT = os.geteuid() == 0
READY = Readiness(timeout=60)


@pytest.fixture(scope="module")
def wire() -> MongoecoInstallation:
    return mongoeco_installation(str(mongoeco_python().parent))


def seed(server: MongoServer) -> None:
    """A small store of what mongoeco keeps as MongoDB does (no capped collection, view or Decimal128: see
    tests/integration/test_mongo_wire.py for those differences)."""
    client = server.client()
    try:
        app = client["app"]
        app.users.create_index("email", unique=True)
        app.users.insert_many([{"_id": i, "email": f"u{i}@example.com", "n": Int64(i), "score": i / 4,
                                "tags": ["a", {"b": i}]} for i in range(40)])
        app.orders.create_index([("user", 1), ("total", -1)], name="user_total")
        app.orders.insert_many([{"user": i % 8, "total": i * 10, "status": "paid" if i % 3 else "open"}
                                for i in range(120)])
        client["audit"].events.insert_many([{"kind": "login", "n": i} for i in range(10)])
    finally:
        client.close()


@pytest.fixture(scope="module")
def captured(wire: MongoecoInstallation, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A dump and its manifest captured (pymongo export) from a mongoeco source, which is stopped afterwards."""
    with local_mongoeco(wire, readiness=READY) as source:
        seed(source)
        return capture_mongo(source.uri, tmp_path_factory.mktemp("wire-backups"), name="app", via="pymongo")


def store(directory: Path, wire: MongoecoInstallation, **settings: Any) -> MongoStore:
    sandbox = {"server": "mongoeco", "bin_dir": str(wire.python.parent), **settings.pop("sandbox", {})}
    inventory = parse_inventory({"stores": [{"name": "app", "kind": "mongo", "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": str(directory / "app-*")},
                                             "sandbox": sandbox, **settings}]}, directory / "inventory.toml")
    found = inventory.stores[0]
    assert isinstance(found, MongoStore)
    return found


def process_uid(pid: int) -> int:
    return int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("Uid:")))


def test_start_and_stop_leave_no_process_or_directory(wire: MongoecoInstallation) -> None:
    running, before = set(sandbox_processes()), set(sandbox_dirs())
    with local_mongoeco(wire, readiness=READY) as server:
        assert server.pgid is not None and server.workdir is not None
        assert group_alive(server.pgid) and (server.workdir.stat().st_mode & 0o777) == 0o700
        client = server.client()
        try:
            client["t"]["c"].insert_many([{"n": i} for i in range(3)])
            assert client["t"]["c"].count_documents({}) == 3
        finally:
            client.close()
        record = server.info.record()
        pgid, workdir = server.pgid, server.workdir
    assert record["type"] == "local" and record["engine"] == "mongoeco" and record["version"] == wire.version
    assert record["server"] == f"mongoeco {wire.version} (MongoDB wire-protocol server in Python, not MongoDB)"
    assert record["reports_mongodb_version"] == "7.0.0"
    assert not group_alive(pgid) and not workdir.exists()
    assert set(sandbox_processes()) - running == set() and set(sandbox_dirs()) - before == set()


def test_an_error_inside_the_sandbox_still_tears_it_down(wire: MongoecoInstallation) -> None:
    seen: list[MongoServer] = []

    def fail_inside() -> None:
        with local_mongoeco(wire, readiness=READY) as server:
            seen.append(server)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    [server] = seen
    assert server.pgid is not None and server.workdir is not None
    assert not group_alive(server.pgid) and not server.workdir.exists()


def test_a_server_that_never_answers_fails_with_its_log_and_leaves_nothing(wire: MongoecoInstallation,
                                                                         tmp_path: Path) -> None:
    """A serve script that cannot import mongoeco (no --site): it exits, and the error carries its log."""
    before = set(sandbox_dirs())
    broken = dataclasses.replace(wire, sites=(tmp_path,))
    with pytest.raises(SandboxError, match=r"(?s)exited before it was ready.*ModuleNotFoundError: No module named "
                                           r"'mongoeco'"), local_mongoeco(broken, readiness=READY):
        pass
    assert set(sandbox_dirs()) - before == set()


@pytest.fixture
def private_clone() -> Iterator[Path]:
    """mongoeco's virtualenv linked (no bytes copied) into a 0700 directory, as a clone in `mktemp -d` has it;
    its `python` still points into pyenv's tree, which is under 0700 /root here."""
    private = Path(tempfile.mkdtemp(prefix="rp-private-"))
    venv = mongoeco_python().parent.parent
    subprocess.run(["cp", "-al", str(venv), str(private / "mongoeco")], check=True)
    private.chmod(0o700)
    yield private
    shutil.rmtree(private, ignore_errors=True)


def test_as_root_from_a_0700_clone_it_runs_as_the_sandbox_user(private_clone: Path) -> None:
    """As root (CI): the sandbox user, from staged copies. Not root: the user itself, from where it is."""
    found = mongoeco_installation(str(private_clone / "mongoeco" / "bin"))
    assert found.sites[0].is_relative_to(private_clone)
    running = set(sandbox_processes())
    with local_mongoeco(found, readiness=READY) as server:
        assert server.pgid is not None
        uid = process_uid(server.pgid)
        argv = Path(f"/proc/{server.pgid}/cmdline").read_bytes().decode().split("\0")
        client = server.client()
        try:
            client["t"]["c"].insert_one({"n": 1})
            assert client["t"]["c"].count_documents({}) == 1
        finally:
            client.close()
    sites = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--site"]
    if AS_ROOT:
        assert uid != 0
        # the interpreter and the site-packages ran from staged copies; the clone itself was left as it was
        assert Path(argv[0]).is_relative_to(stage_root()), argv
        assert sites and all(Path(site).is_relative_to(stage_root()) for site in sites), argv
    else:  # our own directory: nothing to drop privileges for, nothing staged
        assert uid == os.geteuid()
        assert sites and all(Path(site).is_relative_to(private_clone) for site in sites), argv
    assert private_clone.stat().st_mode & 0o777 == 0o700
    assert set(sandbox_processes()) - running == set()


def test_a_whole_store_restored_into_mongoeco_passes(wire: MongoecoInstallation,
                                                    captured: tuple[Path, Path]) -> None:
    manifest = load_manifest(captured[1], store="app")
    assert manifest.collections["app.orders"].documents == 120
    running, before = set(sandbox_processes()), set(sandbox_dirs())
    outcome = run_store(plan_store(store(captured[0].parent, wire, filters=[
        {"name": "paid orders", "collection": "app.orders", "filter": {"status": "paid"}, "min": 80, "max": 80}]),
        captured[0].parent))
    assert outcome.status == "passed", [c.message for c in outcome.checks if not c.passed]
    assert {c.check for c in outcome.checks} >= {"restore", "collections", "document_count", "checksum", "schema",
                                                 "assertion"}
    assert outcome.sandbox is not None and outcome.sandbox["engine"] == "mongoeco"
    assert "not MongoDB" in str(outcome.sandbox["server"])
    assert set(sandbox_processes()) - running == set() and set(sandbox_dirs()) - before == set()


def test_a_whole_store_fails_on_drift_in_mongoeco(wire: MongoecoInstallation, captured: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    """The same dump against a manifest that saw one more order: the checks can fail in this sandbox."""
    archive = tmp_path / captured[0].name
    shutil.copyfile(captured[0], archive)
    raw = captured[1].read_text().replace('"documents": 120', '"documents": 121', 1)
    assert raw != captured[1].read_text()
    (tmp_path / captured[1].name).write_text(raw)
    outcome = run_store(plan_store(store(tmp_path, wire), tmp_path))
    failed = {(c.check, c.subject): c.message for c in outcome.checks if not c.passed}
    assert outcome.status == "failed"
    assert failed == {("document_count", "app.orders"): "120 documents restored, expected 121 (-1)"}


def test_a_missing_interpreter_is_not_restorable_naming_the_store_artifact_and_fix(
        wire: MongoecoInstallation, captured: tuple[Path, Path], tmp_path: Path) -> None:
    outcome = run_store(plan_store(store(captured[0].parent, wire, sandbox={"bin_dir": str(tmp_path / "nowhere")}),
                                   captured[0].parent))
    assert outcome.status != "passed"
    [restore] = [c for c in outcome.checks if c.check == "restore"]
    assert not restore.passed
    assert "store app" in restore.message and captured[0].name in restore.message
    assert f"{tmp_path / 'nowhere' / 'python'} (sandbox.bin_dir) does not exist" in restore.message
    assert "make mongoeco" in restore.message


def test_a_missing_mongod_never_falls_back_to_mongoeco(wire: MongoecoInstallation, captured: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """mongoeco configured, no mongod: a store that did not ask for mongoeco is not restored into it. (A PATH
    without mongod, wherever one is installed.)"""
    (tmp_path / "no-mongod").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-mongod"))
    monkeypatch.setenv(PYTHON_ENV, str(wire.python))
    monkeypatch.delenv("RESTOREPROOF_MONGO_BIN_DIR", raising=False)
    outcome = run_store(plan_store(store(captured[0].parent, wire, sandbox={"server": "mongod", "bin_dir": None}),
                                   captured[0].parent))
    assert outcome.status != "passed" and outcome.sandbox is None
    [restore] = [c for c in outcome.checks if c.check == "restore"]
    assert "no mongod found" in restore.message and "mongoeco" not in restore.message


# --- the demo: `make demo` builds the catalog backup in mongoeco and verifies it with the repository's inventory --

def test_the_demo_inventory_verifies_the_catalog_backup_build_demo_makes(
        wire: MongoecoInstallation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PYTHON_ENV, str(wire.python))
    shutil.copy(REPO / "inventory.toml", tmp_path / "inventory.toml")
    out = tmp_path / "fixtures" / "snapshots"
    out.mkdir(parents=True)
    (out / "catalog-20200101T000000Z.archive.gz").write_bytes(b"an older demo backup")
    assert build_demo.build_mongo_demo(out) == 0
    said = capsys.readouterr().out
    assert (f"mongo store `catalog`: captured from mongoeco {wire.version}; suites/mongo restores it into mongoeco "
            f"{wire.version} (a MongoDB wire-compatible server, not MongoDB)") in said
    (archive,) = out.glob("catalog-*.archive.gz")
    assert archive.name != "catalog-20200101T000000Z.archive.gz"
    inventory = load_inventory(tmp_path / "inventory.toml")
    (catalog,) = [s for s in inventory.stores if s.kind == "mongo"]
    assert (catalog.name, catalog.suite_name) == (build_demo.CATALOG, "mongo")
    outcome = run_store(plan_store(catalog, inventory.base_dir))
    assert outcome.status == "passed", [c.message for c in outcome.checks if not c.passed] or outcome.error
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "document_count"}
    assert counts == {"catalog.products": 200, "catalog.reviews": 600, "catalog.returns": 0}
    assert outcome.sandbox is not None and outcome.sandbox["engine"] == "mongoeco"


def test_without_mongoeco_the_build_skips_the_catalog_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """What a machine without Python >= 3.13 sees: exit 0, no catalog backup (so `make demo` leaves suites/mongo
    out), and one line saying why and how to install it."""
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    (tmp_path / "catalog-20200101T000000Z.archive.gz").write_bytes(b"a stale demo backup")
    assert build_demo.build_mongo_demo(tmp_path) == 0
    assert list(tmp_path.glob("catalog-*")) == []
    err = capsys.readouterr().err
    assert err.startswith("skipped the Mongo demo store (catalog): it restores into mongoeco, which is not usable "
                          "here: no mongoeco interpreter configured")
    assert "`make mongoeco`" in err and "Python >= 3.13" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_doctor_notes_mongoeco_beside_mongod_and_checks_a_store_that_asks_for_it(
        wire: MongoecoInstallation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PYTHON_ENV, str(wire.python))
    (tmp_path / "inventory.toml").write_text(
        '[[stores]]\nname = "wire"\nkind = "mongo"\nrto = "PT15M"\nrpo = "30d"\nsandbox = { server = "mongoeco" }\n'
        'source = { type = "file", path = "wire-*.archive.gz" }\n')
    cli.main(["doctor", "--inventory", "inventory.toml", "--json"])
    shown = json.loads(capsys.readouterr().out)
    [mongo] = [k for k in shown["kinds"] if k["kind"] == "mongo"]
    assert all(i["engine"] != "mongoeco" for i in mongo["servers"]["installed"])  # never counted as mongod
    assert mongo["servers"]["notes"] == [f"mongoeco {wire.version} (Python {wire.python_version}, {wire.python}) from "
                                         f"{PYTHON_ENV}: a MongoDB wire-protocol server in Python, not MongoDB, for "
                                         'stores with sandbox.server = "mongoeco"']
    [store] = shown["stores"]
    server = next(f for f in store["findings"] if f["subject"] == "server")
    assert server["status"] == "ok" and server["detail"].endswith("not MongoDB")
    monkeypatch.setenv(PYTHON_ENV, str(tmp_path / "gone"))
    cli.main(["doctor", "--inventory", "inventory.toml", "--json"])
    shown = json.loads(capsys.readouterr().out)
    [mongo] = [k for k in shown["kinds"] if k["kind"] == "mongo"]
    assert mongo["servers"]["refused"] == [f"mongoeco ({PYTHON_ENV}): the mongoeco interpreter {tmp_path / 'gone'} "
                                           f"({PYTHON_ENV}) does not exist"]
    assert "wire" in shown["cannot_verify"]
