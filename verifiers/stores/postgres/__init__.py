"""PostgreSQL: pg_dump artifacts (custom, directory, tar, plain SQL) restored into a local sandbox server.

The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
