"""DynamoDB stores: the newest backup restored into a temporary table, judged by item count and checksum."""

from verifiers.plugin import RestoreCheck

SUITE = "dynamodb"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
