"""The inventory file: which stores exist, where their backups are, and what they must meet.

Validated with pydantic; every error names the file, the field path and the fix. The stores' models are each
kind's own (verifiers/stores/<kind>/settings.py), joined from the registry of kinds into `Store`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, ValidationError

from verifiers.compliance.configuration_policy import ConfigurationPolicy
from verifiers.compliance.settings import PLACE_TAGS
from verifiers.discovery.settings import DeclaredStore, DiscoverySettings
from verifiers.errors import EmptyInventoryError, InventoryError
from verifiers.services import Service, find_service, service_problems
from verifiers.setting_types import StrictModel
from verifiers.store_settings import AnyStore
from verifiers.stores.registry import settings_models

if TYPE_CHECKING:
    Store = AnyStore
else:  # every registered kind's model, told apart by `kind`
    Store = Annotated[Union[tuple(settings_models())], Field(discriminator="kind")]  # noqa: UP007


class Inventory(StrictModel):
    stores: list[Store]
    discovery: DiscoverySettings | None = Field(default=None, description="compare the inventory with the "
                                                "production stores the cloud accounts hold "
                                                "(docs/inventory-completeness.md)")
    declared: list[DeclaredStore] = Field(default_factory=list, description="stores the harness cannot restore "
                                          "(queues, SaaS, secrets, configuration): listed, never restored")
    services: list[Service] = Field(default_factory=list, description="the services: each the stores a recovery "
                                    "restores together, with its service-level RTO, for drills (docs/drills.md)")
    policy: ConfigurationPolicy | None = Field(default=None, description="backup-configuration rules for every "
                                               "store with a file, s3, rds-snapshot or dynamodb-backup source; a "
                                               "store's [stores.hygiene.configuration] overrides them rule by rule "
                                               "(docs/configuration-evidence.md)")
    base_dir: Path = Field(default=Path("."), exclude=True)
    path: Path = Field(default=Path("inventory.toml"), exclude=True)

    def select(self, *, suite: str | None = None, names: Sequence[str] = ()) -> list[AnyStore]:
        chosen = [s for s in self.stores if suite is None or s.suite_name == suite]
        if names:
            unknown = sorted(set(names) - {s.name for s in self.stores})
            if unknown:
                raise InventoryError(
                    f"{self.path}: no store named {', '.join(unknown)}",
                    hint=f"known stores: {', '.join(s.name for s in self.stores)}",
                )
            chosen = [s for s in chosen if s.name in names]
        return chosen

    def service(self, name: str) -> Service:
        """The service named `name`; InventoryError naming the inventory's services when there is none."""
        return find_service(self.services, name, where=str(self.path))


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file, raising InventoryError with the field path on any problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(
            f"inventory file {path} does not exist", hint="pass --inventory PATH or create inventory.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"inventory file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}", hint="fix the syntax at that line") from None
    return parse_inventory(raw, path)


_Problem = tuple[tuple[int | str, ...], str, str]  # pydantic-style location, its field path, what is wrong


def parse_inventory(raw: dict[str, Any], path: Path) -> Inventory:
    """Validate an inventory, raising InventoryError with every problem at once, one line each with its field
    path: the stores' field errors and the checks across stores, so one fix-and-rerun round is enough."""
    if not raw.get("stores") and set(raw) <= {"stores"}:
        raise EmptyInventoryError(f"{path}: lists no store yet",
                                  hint="uncomment one of its [[stores]] examples (or add a [[stores]] table), "
                                       "then check it with `restoreproof inventory`; docs/inventory.md")
    problems: list[_Problem] = []
    try:
        inventory = Inventory.model_validate({**raw, "base_dir": path.parent, "path": path})
    except ValidationError as exc:
        problems = [(err["loc"], _where(err, raw), _explain(err)) for err in exc.errors()]
    problems += _across_stores(raw)
    problems += [(loc, field_path(loc, raw), what) for loc, what in service_problems(raw)]
    if problems:
        problems.sort(key=lambda problem: _store_index(problem[0]))  # stable: pydantic's order within a store
        raise InventoryError("\n".join(f"{path}: {where}: {what}" for _, where, what in problems))
    return inventory


def _across_stores(raw: dict[str, Any]) -> list[_Problem]:
    """Checks that span stores, made on the raw values: pydantic runs a model's own checks only after every
    field validated, which would hide these until the field errors are fixed."""
    first: dict[str, str] = {}
    problems: list[_Problem] = []
    for table in ("stores", "declared"):
        entries = raw.get(table)
        for index, store in enumerate(entries if isinstance(entries, list) else []):
            name = store.get("name") if isinstance(store, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                loc: tuple[int | str, ...] = (table, index, "name")
                problems.append((loc, field_path(loc, raw), f"duplicate store name {name!r} (also {first[name]}); "
                                 "names must be unique"))
            else:
                first[name] = f"{table}[{index}]"
    return problems


def _store_index(loc: tuple[int | str, ...]) -> int:
    """The store a problem is in, -1 for one outside the stores, the declared stores and the services, which come
    after the stores, in that order."""
    if loc and loc[0] == "services":
        return 1 << 30
    if loc and loc[0] == "declared":
        return 1 << 29
    return loc[1] if len(loc) > 1 and loc[0] == "stores" and isinstance(loc[1], int) else -1


def _where(err: Any, raw: Any) -> str:
    where = field_path(err["loc"], raw)
    if err["type"] == "union_tag_invalid":
        where += "." + str(err["ctx"]["discriminator"]).strip("'")
    return where


def field_path(loc: tuple[int | str, ...], raw: Any, *, tags: frozenset[str] = frozenset()) -> str:
    """`stores[0].source.path` from a pydantic location, without the union tags pydantic puts in it: a
    discriminator's value (`postgres` after a store whose kind is postgres), a validator's `function-…`, or
    one of `tags` (the names a callable discriminator gives its members)."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            parts.append(f"[{key}]")
            node = node[key]
        elif isinstance(node, dict) and key in node:
            parts.append(f".{key}")
            node = node[key]
        elif isinstance(node, dict) and isinstance(key, str) and not _is_tag(key, node, tags | _CALLABLE_TAGS):
            parts.append(f".{key}")  # a missing field: name it, there is nothing below it
            node = None
    text = "".join(parts).lstrip(".")
    return text or "(top level)"


def _is_tag(key: str, node: dict[str, Any], tags: frozenset[str]) -> bool:
    return key in tags or key.startswith("function-") or key in {v for v in node.values() if isinstance(v, str)}


_CALLABLE_TAGS = frozenset(PLACE_TAGS)


def _explain(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against docs/inventory.md"
    if kind == "union_tag_invalid":
        ctx = err["ctx"]
        return f"unsupported value {ctx['tag']!r}; use one of {ctx['expected_tags']}"
    if kind == "literal_error":
        return f"unsupported value {err.get('input')!r}; use one of {err['ctx']['expected']}"
    if kind == "union_tag_not_found":
        return f"missing `{err.get('ctx', {}).get('discriminator', 'type')}`; say which kind this is"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")
