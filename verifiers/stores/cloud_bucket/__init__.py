"""GCS buckets and Azure containers compared with their captured manifests, as the s3 kind does (the shared
comparison is verifiers/stores/bucket_compare.py), plus the protection of the bucket/container itself.

Phases: fetch = listing the bucket, verify = hashing each object the manifest names (streamed) and reading the
bucket's settings.


The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
