"""Command-line overrides of the inventory's sandboxes: `--sandbox local|docker` replaces the sandbox of every
store restored from a file (a store restored by AWS keeps its own), and `--allow-external-sandbox` is the
explicit opt-in that lets `external` sandboxes be used (see verifiers/sandboxes/external.py)."""

from __future__ import annotations

from typing import get_args

from verifiers.inventory import Inventory
from verifiers.store_settings import DockerSandbox, ExternalSandbox, LocalSandbox, SandboxMode

SANDBOX_CHOICES = ("local", "docker")
MODE_CHOICES = get_args(SandboxMode)


def apply_overrides(inventory: Inventory, *, sandbox: str | None, allow_external: bool,
                    mode: str | None = None) -> Inventory:
    """The inventory with each overridable store's sandbox replaced; the original is left unchanged. `mode`
    (--sandbox-mode) sets every local and docker sandbox's mode."""
    if sandbox is not None and sandbox not in SANDBOX_CHOICES:
        raise ValueError(f"--sandbox {sandbox}: choose one of {', '.join(SANDBOX_CHOICES)}")
    if mode is not None and mode not in MODE_CHOICES:
        raise ValueError(f"--sandbox-mode {mode}: choose one of {', '.join(MODE_CHOICES)}")
    if sandbox is None and not allow_external and mode is None:
        return inventory
    stores = []
    for store in inventory.stores:
        current = store.sandbox
        # a store restored from a file (its kind's FILE_SOURCES) is restored into a server this harness provides
        if store.source.type in store.FILE_SOURCES:
            if sandbox == "local" and not isinstance(current, LocalSandbox):
                # a local sandbox is kept as it is: a kind's own (a mongo store's `server = "mongoeco"`) included
                current = LocalSandbox(bin_dir=current.bin_dir, user=current.user,
                                       version_match=current.version_match)
            elif sandbox == "docker":
                image = current.image if isinstance(current, DockerSandbox) else None
                current = DockerSandbox(type="docker", image=image, bin_dir=current.bin_dir, user=current.user,
                                        version_match=current.version_match)
        if mode is not None and isinstance(current, LocalSandbox | DockerSandbox):
            current = current.model_copy(update={"mode": mode})
        if allow_external and isinstance(current, ExternalSandbox):
            current = current.model_copy(update={"allow_external": True})
        stores.append(store if current is store.sandbox else store.model_copy(update={"sandbox": current}))
    return inventory.model_copy(update={"stores": stores})
