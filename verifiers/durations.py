"""Human durations in the inventory ("15m", "4h", "30d", "1h30m", or ISO 8601: "PT4H", "P30D") as seconds, and
back."""

from __future__ import annotations

import re

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
DURATION_HINT = ('write a number and a unit, e.g. "90s", "15m", "4h", "30d" or "1h30m", or an ISO 8601 duration '
                 'such as "PT4H" or "P30D"')
_NUMBER = r"(\d+(?:[.,]\d+)?)"
# ISO 8601 durations without years and months, as a pattern rather than pydantic's parser: the CLI reads durations
# (`evidence trend --floor`) and pydantic would add 0.1 s to every `restoreproof --help` (tests/unit/test_cli_startup)
_ISO = re.compile(rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?")
_ISO_UNITS = (604800, 86400, 3600, 60, 1)


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError with a hint when it is not a duration we read."""
    compact = text.strip().lower().replace(" ", "")
    if compact.startswith("p"):
        seconds = _iso_seconds(text.strip().upper())
    else:
        parts = _PART.findall(compact)
        if not compact or "".join(n + u for n, u in parts) != compact:
            raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return seconds


def _iso_seconds(text: str) -> float:
    """An ISO 8601 duration's seconds. Years and months are refused: they have no fixed length (and "P1M", a
    month, is easily meant as "PT1M", a minute)."""
    date_part = text[1:].split("T", 1)[0]
    if "Y" in date_part or "M" in date_part:
        raise ValueError(f"invalid duration {text!r}: years and months have no fixed length; write days or weeks "
                         '(e.g. "P30D", "P4W")')
    found = _ISO.fullmatch(text)
    if found is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    return sum(float(n.replace(",", ".")) * unit for n, unit in zip(found.groups(), _ISO_UNITS, strict=True) if n)


def format_duration(seconds: float) -> str:
    """A short human form: 0.84s, 12.3s, 4m05s, 2h10m, 3d4h."""
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"
