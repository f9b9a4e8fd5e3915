"""Compliance checks beyond the restore, each judged as a CheckResult with observed vs expected like any other:

- settings: the optional inventory tables ([stores.hygiene], [stores.gdpr], [stores.canary], [stores.migrate])
- recovery_points: the real RPO: largest gap between recovery points over a window, point-in-time lag
- hygiene: backup hygiene in AWS (encryption, cross-region copy, manual copies, retention, buckets, AWS Backup)
- gdpr: erasure replay: subjects erased before the backup must not be in it; those erased after must be re-erased
- canary: a timestamped canary written into the live store must come back from the backup
- migrate: the team's migration command runs against the restored copy
- attach: how these become check specs of a store's plan and results of its run

Nothing here runs at import time; AWS, database and Redis clients are made per use.
"""
