"""Running benchmark complexes in worker processes: a crash or a timeout costs only the complex that caused it."""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from discodock.eval.complexes import BenchmarkComplex
from discodock.eval.runner import BenchmarkSettings, _failure, benchmark_one, init_worker


def _executor(workers: int, settings: BenchmarkSettings) -> ProcessPoolExecutor:
    # spawn, not fork: workers must not inherit a parent that has imported torch/vina threads.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=init_worker, initargs=(settings.threads, settings.method, os.getpid()))


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # A Vina search runs in C++ and never returns to Python, so a busy worker can only be killed from outside;
    # ProcessPoolExecutor has no public way to do that before Python 3.14 (kill_workers).
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _run_pool(todo: deque, settings: BenchmarkSettings, workers: int, record, timeout_s: float | None) -> list:
    """Run complexes from ``todo`` on one pool, at most ``workers`` at a time (so a complex's clock starts
    when it does), until ``todo`` is empty or the pool has to go. A complex past ``timeout_s`` seconds is
    recorded as failed and the workers are killed; the other complexes that were running go back to the
    front of ``todo``. Returns the complexes that were running when a worker died (which one did it is
    unknown)."""
    running: dict = {}  # future -> (complex, start time)
    crashed = []
    with _executor(workers, settings) as pool:
        while todo or running:
            while todo and len(running) < workers:
                entry = todo.popleft()
                try:
                    running[pool.submit(benchmark_one, entry, settings)] = (entry, time.monotonic())
                except BrokenProcessPool:
                    crashed.append(entry)
                    break
            if not running:
                break
            wait_s = None
            if timeout_s is not None:
                wait_s = max(0.0, min(start for _, start in running.values()) + timeout_s - time.monotonic())
            done, _ = wait(running, timeout=wait_s, return_when=FIRST_COMPLETED)
            for future in done:
                entry, _ = running.pop(future)
                try:
                    record(future.result())
                except BrokenProcessPool:
                    crashed.append(entry)
            if crashed:  # the pool is broken: everything still running went with it
                return crashed + [entry for entry, _ in running.values()]
            now = time.monotonic()
            late = [f for f, (_, start) in running.items() if timeout_s is not None and now - start >= timeout_s]
            if late:
                for future in late:
                    entry, _ = running.pop(future)
                    record(_failure(entry, settings, f"timed out after {timeout_s / 60:g} min (--timeout)"))
                todo.extendleft(reversed([entry for entry, _ in running.values()]))
                _kill_workers(pool)
                return []
    return crashed


def run_pending(pending: list[BenchmarkComplex], settings: BenchmarkSettings, workers: int, record,
                 timeout_s: float | None = None) -> None:
    if workers <= 0:
        for entry in pending:
            record(benchmark_one(entry, settings))
        return
    todo, crashed = deque(pending), []
    while todo:
        crashed += _run_pool(todo, settings, workers, record, timeout_s)
    # A worker died (a native crash or out of memory) and took the pool down. We cannot tell which
    # complex did it, so each one that was running then is retried alone in its own process.
    for entry in crashed:
        if _run_pool(deque([entry]), settings, 1, record, timeout_s):
            record(_failure(entry, settings, "worker process died (native crash or out of memory)"))
