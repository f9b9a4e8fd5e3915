"""restoreproof: restore every backup into a disposable sandbox and prove the data is all there.

PYTEST_DONT_REWRITE: `restoreproof verify` imports this package before it runs pytest in-process, and pytest
marks an installed (not editable) plugin's top-level package for assertion rewriting; without this marker it
warns "Module already imported so cannot be rewritten: verifiers" on every verify. The suites' own modules are
still rewritten.
"""

__version__ = "0.1.0"
