"""PostgreSQL stores (RDS, Aurora, self-managed): restore the newest pg_dump and judge every check."""

from verifiers.plugin import RestoreCheck

SUITE = "rds"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
