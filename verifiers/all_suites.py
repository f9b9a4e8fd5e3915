"""Every store in the inventory (narrowed with --suite / --store): what `restoreproof verify` runs."""

from verifiers.plugin.session import ALL_SUITES, RestoreCheck

SUITE = ALL_SUITES


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
