"""Loads the restoreproof pytest plugin (registered as the `restoreproof` pytest11 entry point when installed)."""

pytest_plugins = ["verifiers.plugin"]
