"""MongoDB stores: restore the newest mongodump into a sandbox mongod and judge every check."""

from verifiers.plugin import RestoreCheck

SUITE = "mongo"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
