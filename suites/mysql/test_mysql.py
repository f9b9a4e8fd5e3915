"""MySQL, MariaDB and Aurora/RDS MySQL stores: restore the newest mysqldump / mariadb-dump and judge every check."""

from verifiers.plugin import RestoreCheck

SUITE = "mysql"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
