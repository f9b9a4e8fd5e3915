"""What the settings models of the inventory and the alert channels share: their base (`StrictModel`) and field
types (pydantic; kept out of durations.py, which `restoreproof --help` imports without pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from verifiers.durations import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


DURATION = BeforeValidator(_duration)
Seconds = Annotated[float, DURATION]  # seconds, or text such as 90s, 15m, 4h, 30d, 1h30m, PT4H


class StrictModel(BaseModel):
    """A settings table: unknown keys are errors (a typo is named, not ignored), and settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _cidr(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an address range such as 10.0.8.0/24") from None


Cidr = Annotated[str, AfterValidator(_cidr)]  # an IPv4/IPv6 network, normalised (10.0.8.7/24 -> 10.0.8.0/24)
