"""MongoDB: mongodump output (an `--archive` file, gzipped or not, or an `--out` directory) restored into a
sandbox `mongod` (local process, or a container with `sandbox = "docker"`, or scratch databases on a server the
user provides with `sandbox = {type = "external", ...}`), measured there and judged against the manifest
`restoreproof capture mongo` wrote from the same dump.

The kind (plan, verify) is kind.py; the package's own module stays empty, so importing one of its
modules imports no other."""
