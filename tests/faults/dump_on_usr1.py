"""A pytest plugin the fault tests load into the runs they start: SIGUSR1 makes the run print every thread's stack
to stderr, so a run that does not stop when told can be asked where it is before it is killed."""

from __future__ import annotations

import faulthandler
import signal
import sys


def pytest_configure() -> None:
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
