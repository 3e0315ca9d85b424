"""The job manager: a queue in the job store, a fixed number of worker processes, one dispatcher thread.

At most ``workers`` jobs run at once; the rest wait in the store, so many users at once make a longer
queue, not more models in memory. Every event of a job is logged to the server log and to the job's
``job.log``.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from discodock.web.store import Job, JobStore
from discodock.web.workers import Worker

log = logging.getLogger("discodock.web")

CLEANUP_EVERY_S = 600.0
MAX_STARTS = 2  # a job the server died under twice is not started a third time
MAX_WORKER_FAILURES = 3  # consecutive worker start failures before jobs are failed instead of queued


class JobManager:
    """Runs queued jobs on ``workers`` docking processes. ``keep_days``: finished jobs older than this are
    deleted with their files (fractions allowed)."""

    def __init__(self, store: JobStore, *, workers: int = 1, device: str = "auto", keep_days: float = 7.0,
                 threads: int | None = None):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.store, self.n_workers, self.device, self.keep_days = store, workers, device, keep_days
        env_threads = os.environ.get("OMP_NUM_THREADS", "")
        self.threads = threads or (int(env_threads) if env_threads.isdigit() and int(env_threads) > 0
                                   else max(1, (os.cpu_count() or 1) // workers))
        self.workers: list[Worker] = []
        self.fatal: str | None = None
        self._failures = 0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_cleanup = 0.0

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        requeued, failed = self.store.recover(max_attempts=MAX_STARTS)
        for job_id in requeued:
            self.event(job_id, "the server stopped while this job ran; queued again")
        for job_id in failed:
            self.event(job_id, "the server stopped while this job ran, again; marked as error")
        self.cleanup()
        self.workers = [Worker(i, device=self.device, threads=self.threads) for i in range(self.n_workers)]
        log.info("started %d docking worker(s), %d thread(s) each; data in %s", self.n_workers, self.threads,
                 self.store.data_dir)
        self._thread = threading.Thread(target=self._loop, name="discodock-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for w in self.workers:
                w.stop()
            self.workers = []

    # ------------------------------------------------------------------------------------------ requests

    def event(self, job_id: str, text: str) -> None:
        log.info("job %s: %s", job_id, text)
        folder = self.store.jobs_dir / job_id
        if folder.is_dir():
            with open(folder / "job.log", "a") as fh:
                fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC  {text}\n")

    def submit(self, job_id: str, params: dict[str, Any]) -> None:
        self.store.add(job_id, params)
        self.event(job_id, "queued: " + ", ".join(f"{k} {params[k]}" for k in (
            "protein_name", "ligand_name", "samples", "steps", "seed") if params.get(k) is not None))

    def cancel(self, job_id: str) -> str | None:
        """Cancel a queued or running job (a running one's worker is killed and replaced). Returns the status
        the job had, or None if there is no such job."""
        with self._lock:
            before = self.store.cancel(job_id)
            if before == "running":
                for i, w in enumerate(self.workers):
                    if w.job_id == job_id:
                        w.kill()
                        self.workers[i] = Worker(w.index, device=self.device, threads=self.threads)
            if before in ("queued", "running"):
                self.event(job_id, f"cancelled (was {before})")
            return before

    def delete(self, job_id: str) -> bool:
        with self._lock:
            if self.cancel(job_id) is None:
                return False
            self.store.delete(job_id)
            shutil.rmtree(self.store.job_dir(job_id), ignore_errors=True)
        log.info("job %s: deleted", job_id)
        return True

    def cleanup(self) -> list[str]:
        """Delete finished jobs older than ``keep_days`` (and their files)."""
        self._last_cleanup = time.monotonic()
        removed = []
        for job_id in self.store.expired(time.time() - self.keep_days * 86400.0):
            with self._lock:
                self.store.delete(job_id)
                shutil.rmtree(self.store.job_dir(job_id), ignore_errors=True)
            removed.append(job_id)
        if removed:
            log.info("removed %d job(s) finished more than %g day(s) ago", len(removed), self.keep_days)
        return removed

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"workers": self.n_workers, "workers_ready": sum(w.ready for w in self.workers),
                    "running": self.store.count("running"), "queued": self.store.count("queued"),
                    "worker_error": self.fatal}

    # ------------------------------------------------------------------------------------------ dispatcher

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                live = [w for w in self.workers if not isinstance(w, _DeadWorker)]
                conns = [w.conn for w in live if not w.conn.closed]
                sentinels = [w.process.sentinel for w in live]
            try:
                wait(conns + sentinels, timeout=0.25)
            except OSError:  # a pipe closed by cancel() between the snapshot and the wait
                pass
            try:
                with self._lock:
                    self._poll()
                    self._assign()
                if time.monotonic() - self._last_cleanup > CLEANUP_EVERY_S:
                    self.cleanup()
            except Exception:  # keep serving; the next round retries
                log.exception("dispatcher error")
                time.sleep(1.0)

    def _poll(self) -> None:
        for i, w in enumerate(self.workers):
            if isinstance(w, _DeadWorker):
                continue
            while not w.conn.closed and w.conn.poll():
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    break
                self._handle(w, msg)
            if not w.process.is_alive() and not self._stopping.is_set():
                self._replace_dead(i, w)

    def _handle(self, w: Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready, self._failures, self.fatal = True, 0, None
        elif kind == "fatal":
            self.fatal = msg[1]
            log.error("worker %d: %s", w.index, msg[1])
        elif msg[1] != w.job_id:  # a message about a job that was cancelled meanwhile
            return
        elif kind == "stage":
            self.store.set_stage(msg[1], msg[2], msg[3])
            self.event(msg[1], msg[2])
        elif kind == "done":
            job = self.store.get(msg[1])
            w.job_id = None
            if self.store.finish(msg[1], msg[2]):
                took = time.time() - (job.started or time.time()) if job else 0.0
                self.event(msg[1], f"done in {took:.1f} s: {len(msg[2].get('poses', []))} poses")
        elif kind == "error":
            w.job_id = None
            if self.store.fail(msg[1], msg[2]):
                self.event(msg[1], f"error: {msg[2]}")

    def _replace_dead(self, i: int, w: Worker) -> None:
        code = w.process.exitcode
        if w.job_id is not None:
            why = f"the docking process stopped unexpectedly (exit code {code}"
            why += "; out of memory?)" if code in (-9, 137) else ")"
            if self.store.fail(w.job_id, why):
                self.event(w.job_id, f"error: {why}")
        if not w.ready:
            self._failures += 1
            self.fatal = self.fatal or f"a docking worker exited while loading the model (exit code {code})"
        w.kill()
        if self._failures >= MAX_WORKER_FAILURES:
            self.workers[i] = _DeadWorker(w)
            return
        log.warning("worker %d exited (code %s); starting a new one", w.index, code)
        self.workers[i] = Worker(w.index, device=self.device, threads=self.threads)

    def _assign(self) -> None:
        if self.workers and all(isinstance(w, _DeadWorker) for w in self.workers):
            while (job := self.store.claim_next()) is not None:  # nothing can run them: say why
                message = f"no docking worker could start: {self.fatal}"
                self.store.fail(job.id, message)
                self.event(job.id, f"error: {message}")
            return
        for w in self.workers:
            if not w.idle:
                continue
            job: Job | None = self.store.claim_next()
            if job is None:
                return
            folder = self.store.job_dir(job.id)
            self.event(job.id, f"started on worker {w.index} (attempt {job.attempts})")
            try:
                w.send_job(job.id, folder, job.params)
            except (OSError, ValueError) as err:  # the worker died just now; _poll requeues via its exit
                self.store.fail(job.id, f"could not reach the docking worker ({err})")


class _DeadWorker:
    """A slot whose worker keeps failing to start: stays empty (the server log and /api/health say why)."""

    def __init__(self, w: Worker):
        self.index, self.conn, self.process, self.job_id, self.ready = w.index, w.conn, w.process, None, False

    idle = False
