"""xdist's scheduling by store: one restore per store, on one worker. Apart from distributed.py because it
subclasses pytest-xdist's scheduler, and the core does not require pytest-xdist (the `parallel` extra):
distributed.py imports this module only in the hook xdist calls."""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

from verifiers.plugin.session import store_of


class StoreScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's scope scheduler with the store as the scope: one restore per store, on one worker."""

    def _split_scope(self, nodeid: str) -> str:
        return store_of(nodeid) or super()._split_scope(nodeid)
