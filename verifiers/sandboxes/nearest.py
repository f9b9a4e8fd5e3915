"""Which of the installations that can restore a backup restores it most like production would: one the user named
first (sandbox.bin_dir, the environment), then the nearest to the source's own release by the store's ranking,
ties in search order. One rule for PostgreSQL, Redis/Valkey and MySQL/MariaDB (each store ranks its own releases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar


class Nameable(Protocol):
    @property
    def named(self) -> bool:
        """Whether the user named this installation (sandbox.bin_dir or the store kind's environment variable)."""
        ...


N = TypeVar("N", bound=Nameable)


def nearest(usable: Iterable[N], rank: Callable[[N], tuple[int, ...]]) -> N | None:
    """The usable installation the user named, else the one of the lowest `rank` (the source's own release ranks
    lowest); min() keeps the first of equals, so ties go by search order. None when nothing is usable."""
    return min(usable, key=lambda i: (not i.named, rank(i)), default=None)
