"""Worker processes that do not outlive the command that started them.

``kill`` on a ``discodock benchmark`` or ``prepare`` run ends the parent only: its pool workers would go on
docking for minutes, unseen, holding the cores and writing nothing. Each worker therefore asks Linux to
send it SIGTERM when its parent dies (elsewhere this is a no-op).
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_parent(parent_pid: int) -> None:
    """Call first thing in a worker (a pool initializer); ``parent_pid`` is the pool owner's PID."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)
