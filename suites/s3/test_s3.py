"""S3 stores: each bucket (or prefix) compared with its captured manifest; missing, extra and changed objects."""

from verifiers.plugin import RestoreCheck

SUITE = "s3"


def test_restore(restore_check: RestoreCheck) -> None:
    restore_check.assert_passed()
