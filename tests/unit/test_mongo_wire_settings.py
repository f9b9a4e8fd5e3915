"""`sandbox = { server = "mongoeco" }`: how a mongo store asks for the mongoeco wire server (and no other kind can),
and how an interpreter that cannot serve it is refused, each time saying what is wrong and how to install it.

The refusals are judged on real interpreters: the harness's own (too old), a script that fails, and virtualenvs of
a Python >= 3.13 holding only a package's metadata (what the probe reads), which `make mongoeco` makes possible;
without one those tests fail, saying what to install. Starting the server:
tests/integration/test_mongo_wire_sandbox.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.mongo_wire_support import mongoeco_python
from verifiers.errors import InventoryError, NoSuitableServerError
from verifiers.inventory import parse_inventory
from verifiers.sandboxes.selection import apply_overrides
from verifiers.store_settings import DockerSandbox
from verifiers.stores.mongo.settings import MongoLocalSandbox, MongoStore
from verifiers.stores.mongo.wire_installation import PYTHON_ENV, mongoeco_installation

REPO = Path(__file__).resolve().parents[2]


def parsed(tmp_path: Path, kind: str = "mongo", **settings: Any) -> Any:
    suffix = {"mongo": "app-*", "postgres": "app-*.dump"}[kind]
    inventory = parse_inventory({"stores": [{"name": "app", "kind": kind, "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": str(tmp_path / suffix)},
                                             **settings}]}, tmp_path / "inventory.toml")
    return inventory.stores[0]


def test_a_mongo_store_asks_for_mongoeco_in_a_local_sandbox_table(tmp_path: Path) -> None:
    for sandbox in ({"server": "mongoeco"}, {"type": "local", "server": "mongoeco", "bin_dir": "/opt/wire/bin"}):
        found = parsed(tmp_path, sandbox=sandbox)
        assert isinstance(found, MongoStore) and isinstance(found.sandbox, MongoLocalSandbox)
        assert found.sandbox.server == "mongoeco"


def test_mongod_stays_the_default_local_server(tmp_path: Path) -> None:
    for settings in ({}, {"sandbox": "local"}, {"sandbox": {"bin_dir": "/opt/mongodb/bin"}}):
        found = parsed(tmp_path, **settings)
        assert isinstance(found.sandbox, MongoLocalSandbox) and found.sandbox.server == "mongod"
    assert isinstance(parsed(tmp_path, sandbox="docker").sandbox, DockerSandbox)


@pytest.mark.parametrize(("kind", "sandbox", "complaint"), [
    ("mongo", {"server": "mariadb"}, r"unsupported value 'mariadb'; use one of 'mongod' or 'mongoeco'"),
    ("mongo", {"type": "docker", "server": "mongoeco"}, r"stores\[0\]\.sandbox\.server: unknown field"),
    ("postgres", {"server": "mongoeco"}, r"stores\[0\]\.sandbox\.\w+: unknown field"),
])
def test_a_server_that_is_not_there_to_choose_is_refused(tmp_path: Path, kind: str, sandbox: dict[str, Any],
                                                         complaint: str) -> None:
    with pytest.raises(InventoryError, match=complaint):
        parsed(tmp_path, kind=kind, sandbox=sandbox)


def test_no_interpreter_configured_names_the_setting_the_variable_and_make_mongoeco(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    with pytest.raises(NoSuitableServerError) as raised:
        mongoeco_installation(None)
    assert "sandbox.bin_dir is not set" in raised.value.message and PYTHON_ENV in raised.value.message
    assert raised.value.hint is not None and "make mongoeco" in raised.value.hint


def test_an_interpreter_that_does_not_exist_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYTHON_ENV, str(tmp_path / "gone" / "python"))
    with pytest.raises(NoSuitableServerError, match=rf"{tmp_path}/gone/python \({PYTHON_ENV}\) does not exist"):
        mongoeco_installation(None)


def test_a_python_too_old_for_mongoeco_is_refused(tmp_path: Path) -> None:
    """The harness's own interpreter where it is older than 3.13 (3.11 here), else a stand-in that answers the probe
    as Python 3.12 would."""
    if sys.version_info < (3, 13):
        bin_dir = Path(sys.executable).parent
    else:
        bin_dir = tmp_path
        (tmp_path / "python").write_text('#!/bin/sh\necho \'{"python": [3, 12, 9], "base_prefix": "/x", "executable": '
                                         '"/x/bin/python3", "mongoeco": null, "pymongo": null}\'\n')
        (tmp_path / "python").chmod(0o755)
    with pytest.raises(NoSuitableServerError, match=r"is Python 3\.\d+\.\d+; mongoeco needs Python >= 3\.13"):
        mongoeco_installation(str(bin_dir))


def test_an_interpreter_that_fails_is_refused_with_its_output(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'cannot open shared object' >&2\nexit 3\n")
    python.chmod(0o755)
    with pytest.raises(NoSuitableServerError, match=r"did not answer \(exit 3\): cannot open shared object"):
        mongoeco_installation(str(tmp_path))


def base_python_313() -> Path:
    """A Python >= 3.13: the one `make mongoeco` made its virtualenv from."""
    return mongoeco_python().resolve()


def venv_with(tmp_path: Path, **packages: str) -> Path:
    """A virtualenv of Python >= 3.13 whose site-packages holds just the named distributions' metadata."""
    venv = tmp_path / "venv"
    subprocess.run([str(base_python_313()), "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = list(venv.glob("lib/python3.*/site-packages"))
    for name, version in packages.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return venv / "bin"


def test_mongoeco_without_pymongo_is_refused_saying_it_needs_it_undeclared(tmp_path: Path) -> None:
    with pytest.raises(NoSuitableServerError, match=r"has mongoeco 4\.11\.0 but not pymongo, which mongoeco needs "
                                                    r"at run time without declaring it") as raised:
        mongoeco_installation(str(venv_with(tmp_path, mongoeco="4.11.0")))
    assert raised.value.hint is not None and "pymongo==4.20.1" in raised.value.hint


def test_a_mongoeco_too_old_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoSuitableServerError, match=r"has mongoeco 4\.9\.7; the sandbox needs mongoeco >= 4\.11"):
        mongoeco_installation(str(venv_with(tmp_path, mongoeco="4.9.7", pymongo="4.20.1")))


def test_an_interpreter_without_mongoeco_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoSuitableServerError, match=r"mongoeco is not installed in .*venv/bin/python"):
        mongoeco_installation(str(venv_with(tmp_path, pymongo="4.20.1")))


def test_a_mongoeco_new_enough_with_pymongo_is_found_with_where_they_are(tmp_path: Path) -> None:
    bin_dir = venv_with(tmp_path, mongoeco="4.12.0rc1", pymongo="4.20.1")
    found = mongoeco_installation(str(bin_dir))
    assert (found.version, found.pymongo, found.origin) == ("4.12.0rc1", "4.20.1", "sandbox.bin_dir")
    assert found.sites == (next(bin_dir.parent.glob("lib/python3.*/site-packages")).resolve(),)
    assert found.interpreter.is_relative_to(found.base_prefix)


def test_command_line_sandbox_overrides_keep_the_mongoeco_server(tmp_path: Path) -> None:
    """`--sandbox local` and `--sandbox-mode` keep a store's local sandbox as it is (its `server` included): the
    demo's catalog store must not turn into a mongod store looking for mongod in mongoeco's bin_dir."""
    inventory = parse_inventory({"stores": [{"name": "app", "kind": "mongo", "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": str(tmp_path / "app-*")},
                                             "sandbox": {"server": "mongoeco", "bin_dir": "/opt/wire/bin"}}]},
                                tmp_path / "inventory.toml")
    for overrides in ({"sandbox": "local"}, {"sandbox": "local", "mode": "production-like"}, {"sandbox": None,
                                                                                              "mode": "fast"}):
        [store] = apply_overrides(inventory, allow_external=False, **overrides).stores
        assert isinstance(store.sandbox, MongoLocalSandbox), overrides
        assert (store.sandbox.server, store.sandbox.bin_dir) == ("mongoeco", "/opt/wire/bin"), overrides
    [docker] = apply_overrides(inventory, sandbox="docker", allow_external=False).stores
    assert isinstance(docker.sandbox, DockerSandbox)
