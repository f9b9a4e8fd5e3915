"""The inventory's services (`[[services]]`): a service is the set of stores a recovery brings back together, with
the service-level RTO a disaster-recovery drill (`restoreproof drill --service NAME`, docs/drills.md) is judged
against. A store may belong to several services; a service names at least one store of the inventory.

The model is checked here; that every named store exists, and that names are unique, is checked across the
inventory on its raw values (`service_problems`), so that those problems are reported with the stores' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from verifiers.durations import format_duration
from verifiers.errors import InventoryError
from verifiers.setting_types import Seconds, StrictModel
from verifiers.store_settings import STORE_NAME_PATTERN

# What parse_inventory collects: a pydantic-style location and what is wrong there.
ServiceProblem = tuple[tuple[int | str, ...], str]


class Service(StrictModel):
    """A service: the stores a recovery of it restores together, and its recovery time objective as a whole."""

    name: str = Field(pattern=STORE_NAME_PATTERN, description="unique among the services; names the service in "
                      "`restoreproof drill --service` and in the drill report")
    stores: list[str] = Field(min_length=1, description="the names of the inventory's stores the service needs; a "
                              "drill restores them all together (a store may belong to several services)")
    rto: Seconds = Field(gt=0, description="the service-level recovery time objective: a drill's wall time until "
                         "every one of its stores is restored and verified must be at most this")
    owner: str | None = Field(default=None, min_length=1, description="who answers for the service's recovery (a "
                              "team or a person), shown in the drill report")
    description: str | None = Field(default=None, min_length=1, description="what the service is, for the drill "
                                    "report's reader")

    @field_validator("stores")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"store {', '.join(repr(n) for n in twice)} listed more than once; list each store once")
        return value


def service_problems(raw: dict[str, Any]) -> list[ServiceProblem]:
    """Each service naming a store the inventory lacks, and each service name used twice (on the raw values, so
    that they are reported together with any field error)."""
    services = raw.get("services")
    stores = raw.get("stores")
    known = {s["name"] for s in (stores if isinstance(stores, list) else [])
             if isinstance(s, dict) and isinstance(s.get("name"), str)}
    first: dict[str, int] = {}
    problems: list[ServiceProblem] = []
    for index, service in enumerate(services if isinstance(services, list) else []):
        if not isinstance(service, dict):
            continue
        name = service.get("name")
        if isinstance(name, str):
            if name in first:
                problems.append((("services", index, "name"), f"duplicate service name {name!r} (also "
                                 f"services[{first[name]}]); names must be unique"))
            first.setdefault(name, index)
        members = service.get("stores")
        for position, store in enumerate(members if isinstance(members, list) else []):
            if isinstance(store, str) and store not in known:
                shown = ", ".join(sorted(known)) or "none"
                problems.append((("services", index, "stores", position),
                                 f"service {name!r} names store {store!r}, which is not in the inventory; name one of "
                                 f"its stores ({shown}) or add a [[stores]] table for it"))
    return problems


def find_service(services: Sequence[Service], name: str, *, where: str) -> Service:
    """The service named `name`; InventoryError naming the services there are when there is none."""
    for service in services:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in services)
    raise InventoryError(f"{where}: no service named {name!r}",
                         hint=f"its services: {known}" if known else "it lists no service yet: add a [[services]] "
                         "table naming the stores the service needs (docs/drills.md)")


def listed(service: Service) -> dict[str, Any]:
    """The service as `restoreproof inventory --json` lists it (the RTO in seconds)."""
    return {"name": service.name, "stores": list(service.stores), "rto_seconds": service.rto,
            "owner": service.owner, "description": service.description}


def listed_line(service: Service) -> str:
    """The service as `restoreproof inventory` prints it: `checkout (service, RTO 4h00m, owner payments): orders,
    cache`."""
    owner = f", owner {service.owner}" if service.owner else ""
    return f"{service.name} (service, RTO {format_duration(service.rto)}{owner}): {', '.join(service.stores)}"
