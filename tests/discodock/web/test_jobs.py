"""The job manager: jobs survive a server killed mid-job, a killed worker gives an error, old jobs are cleaned up."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import requests

from discodock.web.jobs import JobManager
from discodock.web.store import JobStore, new_job_id


def test_job_running_when_the_server_is_killed_is_run_again_after_restart(tmp_path, server_class):
    Server = server_class
    data = tmp_path / "data"
    srv = Server(data, workers=1).wait_ready()
    try:
        finished = srv.submit()
        finished_id = finished.json()["id"]
        assert srv.wait(finished_id)["status"] == "done"
        r = srv.submit(fields={"seed": "1"})
        victim = r.json()["id"]
        srv.wait(victim, until=("running",))
    finally:
        srv.kill(signal.SIGKILL)  # no shutdown handler runs: like a crash or a power cut

    srv = Server(data, workers=1)
    try:
        srv.wait_ready()
        job = srv.wait(victim)
        assert job["status"] == "done", job
        assert len(job["poses"]) == 3 and job["input"]["seed"] == 1
        log = (data / "jobs" / victim / "job.log").read_text()
        assert "queued again" in log and "(attempt 2)" in log
        before = srv.job(finished_id)  # the job finished before the crash is still there, files and all
        assert before["status"] == "done" and len(before["poses"]) == 3
        assert requests.get(srv.base + before["poses"][0]["sdf"], timeout=10).status_code == 200
    finally:
        srv.kill()


def test_cleanup_removes_jobs_finished_more_than_keep_days_ago(tmp_path):
    store = JobStore(tmp_path)
    manager = JobManager(store, workers=1, keep_days=1.0)  # not started: cleanup needs no workers
    old, recent, queued = new_job_id(), new_job_id(), new_job_id()
    for job_id in (old, recent, queued):
        store.job_dir(job_id).mkdir(parents=True)
        (store.job_dir(job_id) / "job.log").write_text("x\n")
        store.add(job_id, {})
    for job_id in (old, recent):
        store.claim_next()
        store.finish(job_id, {})
    store._exec("UPDATE jobs SET finished = ? WHERE id = ?", (time.time() - 2 * 86400, old))
    assert manager.cleanup() == [old]
    assert store.get(old) is None and not store.job_dir(old).exists()
    assert store.get(recent).status == "done" and store.job_dir(recent).exists()
    assert store.get(queued).status == "queued" and store.job_dir(queued).exists()


def _worker_running(server_pid: int, inputs: Path) -> list[int]:
    """The server's child process working in ``inputs`` (a worker moves into its job's inputs folder)."""
    found = []
    for tid in os.listdir(f"/proc/{server_pid}/task"):
        with open(f"/proc/{server_pid}/task/{tid}/children") as fh:
            for pid in (int(p) for p in fh.read().split()):
                try:
                    if Path(os.readlink(f"/proc/{pid}/cwd")) == inputs:
                        found.append(pid)
                except FileNotFoundError:
                    pass
    return found


def _wait_for(fn, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if value := fn():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker processes through /proc")
def test_a_worker_killed_mid_job_gives_an_error_not_a_lost_job(server):
    r = server.submit(fields={"samples": "40", "steps": "100"})
    job_id = r.json()["id"]
    server.wait(job_id, until=("running",))
    inputs = (server.data_dir / "jobs" / job_id / "inputs").resolve()
    pids = _wait_for(lambda: _worker_running(server.proc.pid, inputs))
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)  # as the kernel's out-of-memory killer would
    job = server.wait(job_id)
    assert job["status"] == "error" and "stopped unexpectedly" in job["error"] and "out of memory" in job["error"]
    r = server.submit()  # replacement workers take the next job
    after = server.wait(r.json()["id"])
    assert after["status"] == "done", (after, server.log()[-3000:])
