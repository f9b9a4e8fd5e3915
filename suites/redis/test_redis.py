"""Redis / Valkey / ElastiCache stores: load the newest RDB into a sandbox server and judge every check."""

from verifiers.plugin import RestoreCheck

SUITE = "redis"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
