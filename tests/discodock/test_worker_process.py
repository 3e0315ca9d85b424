import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")

# A parent that starts one spawn worker (as `discodock benchmark` does), prints the worker's PID and waits.
PARENT = textwrap.dedent("""
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    from discodock.worker_process import exit_with_parent

    guarded = sys.argv[1] == "guarded"
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"),
                               initializer=exit_with_parent if guarded else None,
                               initargs=(os.getpid(),) if guarded else ())
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # an unreaped zombie has exited
    except FileNotFoundError:
        return False


def _worker_after_parent_is_killed(mode: str, *, wait_s: float) -> tuple[int, bool]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)  # no clean-up code of the parent's runs
    parent.wait()
    deadline = time.monotonic() + wait_s
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return worker, _alive(worker)


def test_worker_exits_when_its_parent_is_killed():
    _, alive = _worker_after_parent_is_killed("guarded", wait_s=10)
    assert not alive


def test_without_the_guard_the_worker_outlives_its_parent():
    # The failure the guard exists for: an orphaned worker that keeps running.
    worker, alive = _worker_after_parent_is_killed("plain", wait_s=2)
    try:
        assert alive
    finally:
        if alive:
            os.kill(worker, signal.SIGKILL)
