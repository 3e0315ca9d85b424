"""The job manager: jobs survive a server that is killed mid-job, and old jobs are cleaned up."""

from __future__ import annotations

import signal
import time

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
