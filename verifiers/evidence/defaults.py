"""Settings of the evidence shared by the CLI, signing and the archives, in a module that imports nothing: the CLI
declares its options without importing cryptography or botocore, and no evidence module needs the package's."""

KEY_ENV = "RESTOREPROOF_SIGNING_KEY"
ARCHIVE_ENV = "RESTOREPROOF_EVIDENCE_ARCHIVE"  # the CI workflows' archive (docs/ci.md); `doctor` checks it
DEFAULT_RETENTION_DAYS = 400  # a 12-month audit period plus the time to report on it
