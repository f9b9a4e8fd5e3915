"""S3: a bucket (or prefix) compared with its captured manifest. Missing, extra and changed objects are
counted and sampled by key name (never by content); a changed object is one whose size or sha256 differs.

Phases: fetch = listing the bucket (with `as_of`, its object versions current at that time), verify = hashing
each object the manifest names (streamed). With `restore`, the objects are first copied server-side into a scratch
prefix (restore), the copy is what is verified, and the prefix is deleted (teardown).


The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
