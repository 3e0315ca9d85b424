"""Docking worker processes: each loads the shipped weights once, then docks the jobs it is sent.

The web process never holds a model. It talks to each worker over its own pipe, so one worker can be killed
(a cancelled job, a crash) and replaced without disturbing the others. Messages, worker -> server:
``("ready",)``, ``("fatal", message)``, ``("stage", job_id, text, fraction)``, ``("done", job_id, result)``,
``("error", job_id, message)``; server -> worker: ``("job", job_id, job_dir, params)`` or ``("stop",)``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger("discodock.web")


def worker_main(conn: Connection, parent_pid: int, device: str, threads: int) -> None:
    """Entry point of a worker process (started with the "spawn" method: no state copied from the server)."""
    from discodock.worker_process import exit_with_parent

    exit_with_parent(parent_pid)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s worker {os.getpid()}: %(message)s")
    import torch

    torch.set_num_threads(threads)
    from discodock.web.engine import Engine, is_input_error

    try:
        engine = Engine(device=device)
    except BaseException as err:  # e.g. missing or corrupt weights: say so instead of dying silently
        conn.send(("fatal", f"cannot load the docking model: {type(err).__name__}: {err}"))
        return
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if msg[0] != "job":
            return
        _, job_id, job_dir, params = msg

        def stage(text: str, fraction: float, job_id=job_id) -> None:
            conn.send(("stage", job_id, text, fraction))

        try:
            result = engine.run(Path(job_dir), params, stage)
            conn.send(("done", job_id, result))
        except Exception as err:
            if is_input_error(err):
                conn.send(("error", job_id, str(err)))
            else:
                logging.getLogger("discodock.web").error("job %s failed:\n%s", job_id, traceback.format_exc())
                conn.send(("error", job_id, f"internal error: {type(err).__name__}: {err}".split("\n")[0]))


class Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, index: int, *, device: str, threads: int):
        ctx = mp.get_context("spawn")
        self.index = index
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=worker_main, args=(child, os.getpid(), device, threads),
                                   name=f"discodock-worker-{index}", daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.job_id: str | None = None

    @property
    def idle(self) -> bool:
        return self.ready and self.job_id is None and self.process.is_alive()

    def send_job(self, job_id: str, job_dir: Path, params: dict) -> None:
        self.job_id = job_id
        self.conn.send(("job", job_id, str(job_dir), params))

    def kill(self) -> None:
        """End the process now (a cancelled job: docking cannot be interrupted more gently)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.process.join(timeout=timeout if self.job_id is None else 0.1)
        self.kill()
