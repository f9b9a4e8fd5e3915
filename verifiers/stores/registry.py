"""Every store kind: the one list of them, one line per kind, and what is built from it.

A kind is a package (verifiers/stores/<kind>/, or any installed package) holding:

- `settings.py`: `SETTINGS`, the inventory model(s) of its stores, each a `StoreSettings` with its `kind` a
  literal and its `DEFAULT_SUITE` (light: pydantic only, imported whenever an inventory is read);
- `cli.py`: `add_capture_parsers(kinds)`, the `restoreproof capture <kind>` arguments (light: argparse only, so
  `restoreproof --help` imports no driver);
- `capture.py`: `run(args) -> str`, the capture itself, imported when that command runs;
- `kind.py`: `KIND`, the `StoreKind` that plans its stores (each plan's `KindPlan` verifies it), imported on
  first use (the plugin is loaded by every pytest run in the environment: importing every kind's drivers up front
  doubled its start-up, 0.29 s to 0.6 s with -X importtime);
- `compliance.py`, only when its model declares restored-data checks (`COMPLIANCE`: canary, gdpr, migrate): the
  `RestoredData` its kind.py hands verifiers/compliance/attach.py's judge_restored, and, for canaries, its
  `CANARY_WRITER` (`restoreproof canary write`).

The inventory's union of store models, the CLI's capture subcommands and the suites (a store's suite is its
model's DEFAULT_SUITE, run by `pytest suites/<suite>` or `restoreproof verify --suite`) are built from this list.
A kind outside this repository registers with an entry point in the `restoreproof.kinds` group naming its
package (tests/integration/test_toy_kind.py adds one). The packages are imported by name, as entry points are;
none of them imports this module, so that is no hidden cycle. This module itself imports nothing heavy (the
models and the StoreKind protocol only for type checking): `restoreproof --help` builds the capture parsers from it.
"""

from __future__ import annotations

import argparse
import functools
import importlib
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, get_args

from verifiers.errors import InventoryError
from verifiers.extras import needed_by

if TYPE_CHECKING:
    from verifiers.compliance.restored import CanaryWriter
    from verifiers.store_settings import StoreSettings
    from verifiers.stores.base import StoreKind

BUILT_IN = (
    "verifiers.stores.postgres",
    "verifiers.stores.redis",
    "verifiers.stores.mysql",
    "verifiers.stores.s3",
    "verifiers.stores.dynamodb",
    "verifiers.stores.mongo",
    "verifiers.stores.cloud_bucket",
)
ENTRY_POINT_GROUP = "restoreproof.kinds"


@functools.cache
def packages() -> tuple[str, ...]:
    """The built-in kinds' packages, then those installed packages register."""
    extra = tuple(ep.value for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.value not in BUILT_IN)
    return BUILT_IN + extra


def _part(package: str, module: str) -> ModuleType:
    try:
        with needed_by(f"the {package.rpartition('.')[2]} store kind"):
            return importlib.import_module(f"{package}.{module}")
    except ImportError as exc:
        if exc.name in (package, f"{package}.{module}"):
            raise InventoryError(f"store kind package {package} has no {module}.py (or cannot be imported)",
                                 hint="a kind's package holds settings.py, cli.py, capture.py and kind.py; see "
                                 "docs/developer.md") from exc
        raise


@functools.cache
def _settings() -> dict[str, tuple[str, type[StoreSettings]]]:
    """Each kind's name: its package and its inventory model."""
    found: dict[str, tuple[str, type[StoreSettings]]] = {}
    for package in packages():
        for model in _part(package, "settings").SETTINGS:
            kind = get_args(model.model_fields["kind"].annotation)[0]  # kind: Literal["<kind>"]
            if kind in found:
                raise InventoryError(f"store kind {kind!r} is registered twice: by {found[kind][0]} and {package}")
            found[kind] = (package, model)
    return found


def models() -> dict[str, type[StoreSettings]]:
    """Each kind's name and its inventory model, in registry order."""
    return {kind: model for kind, (_, model) in _settings().items()}


def settings_models() -> tuple[type[StoreSettings], ...]:
    """Every kind's inventory model, in registry order."""
    return tuple(model for _, model in _settings().values())


def kinds() -> tuple[str, ...]:
    return tuple(_settings())


def suites() -> tuple[str, ...]:
    """The suites the kinds default to, in registry order, each once."""
    return tuple(dict.fromkeys(model.DEFAULT_SUITE for model in settings_models()))


def store_kind(kind: str) -> StoreKind:
    """The kind's implementation (its kind.py's KIND), imported on first use."""
    implementation: StoreKind = _part(_settings()[kind][0], "kind").KIND
    return implementation


def canary_writers() -> dict[str, CanaryWriter]:
    """The kinds whose model declares the canary check (its COMPLIANCE), each with its package's compliance.py
    CANARY_WRITER, in registry order; imported here, for `restoreproof canary write` only."""
    return {kind: _part(package, "compliance").CANARY_WRITER for kind, (package, model) in _settings().items()
            if "canary" in model.COMPLIANCE.checks}


def add_capture_parsers(kinds_parsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`restoreproof capture <kind>` for every kind, each declared by its package's cli.py."""
    for package in packages():
        try:
            _part(package, "cli").add_capture_parsers(kinds_parsers)
        except argparse.ArgumentError as exc:  # "conflicting subparser": two packages declare one kind
            raise InventoryError(f"store kind package {package}: {exc}; another registered package declares that "
                                 "kind too", hint="uninstall one of them (pip uninstall), or rename its kind") from None


def capture(kind: str, args: argparse.Namespace) -> str:
    """Run `restoreproof capture <kind>`: the kind's capture.py, which says what it wrote."""
    text: str = _part(_settings()[kind][0], "capture").run(args)
    return text


if TYPE_CHECKING:  # kind_doctor's annotation only
    from verifiers.diagnosis import KindDoctor


def kind_doctor(kind: str) -> KindDoctor | None:
    """The kind's part of `restoreproof doctor` (its package's optional doctor.py, `DOCTORS[kind]`), imported on
    first use; None for a kind whose package has none (the command then checks only what every kind shares)."""
    package = _settings()[kind][0]
    try:
        module = _part(package, "doctor")
    except InventoryError:  # no doctor.py: allowed
        return None
    doctor: KindDoctor | None = getattr(module, "DOCTORS", {}).get(kind)
    return doctor
