"""Redis / Valkey / ElastiCache: RDB snapshots loaded into a local sandbox server and measured there.

The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
