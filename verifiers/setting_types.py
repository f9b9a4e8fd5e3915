"""What the settings models of the inventory and the alert channels share: their base (`StrictModel`) and field
types (pydantic; kept out of durations.py, which `restoreproof --help` imports without pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from verifiers.durations import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


DURATION = BeforeValidator(_duration)
Seconds = Annotated[float, DURATION]  # seconds, or text such as 90s, 15m, 4h, 30d, 1h30m, PT4H


class StrictModel(BaseModel):
    """A settings table: unknown keys are errors (a typo is named, not ignored), and settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)
