"""The RDB's own checksum (issue 21, corruption checks): an RDB of format 5 or later ends with the CRC64 of
everything before it, which `check-rdb` (the local sandbox) or the server loading it (a container or an external
server, unless its `rdbchecksum` is off) verifies, refusing the file on a mismatch. A file saved with
`rdbchecksum no` carries zeros there: nothing can verify its bytes end to end, and the `corruption` check says
so ("not compared") instead of passing. The artifact's sha256 against the manifest holds either way: it proves
the file is the one captured, not that what was captured was sound."""

from __future__ import annotations

import os
from pathlib import Path

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec

CHECK = "corruption"
SUBJECT = "rdb"
SPEC = CheckSpec(CHECK, SUBJECT)
FIRST_WITH_CHECKSUM = 5  # RDB format version


def stored_checksum(path: Path, version: int) -> int | None:
    """The CRC64 the RDB ends with (0: saved without one), or None for a format that has none."""
    if version < FIRST_WITH_CHECKSUM:
        return None
    with path.open("rb") as fh:
        fh.seek(-8, os.SEEK_END)
        return int.from_bytes(fh.read(8), "little")


def judge(name: str, stored: int | None, verified_by: str | None) -> CheckResult:
    """`verified_by`: what verified the checksum as it read the file (check-rdb, or the loading server with
    rdbchecksum on), None when nothing is known to have."""
    if stored is None:
        return checks.not_compared(CHECK, SUBJECT, "no checksum", f"{name} is of an RDB format older than "
                                   f"{FIRST_WITH_CHECKSUM}, which has no checksum")
    if stored == 0:
        return checks.not_compared(CHECK, SUBJECT, "no checksum", f"{name} was saved without a checksum "
                                   "(rdbchecksum no): nothing verified its bytes end to end; turn rdbchecksum on "
                                   "where the backups are taken")
    if verified_by is None:
        return checks.not_compared(CHECK, SUBJECT, f"crc64 {stored:016x}", f"the server that loaded {name} has "
                                   "rdbchecksum off, or does not say (CONFIG GET refused): its CRC64 was not "
                                   "verified")
    return CheckResult(CHECK, SUBJECT, True, "crc64 verified", "crc64 verified",
                       f"{verified_by} verified {name}'s CRC64 against its content")
