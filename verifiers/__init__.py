"""restoreproof: restore every backup into a disposable sandbox and prove the data is all there."""

__version__ = "0.1.0"
