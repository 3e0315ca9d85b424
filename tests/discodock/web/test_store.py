"""The SQLite job store: ids, the queue order, restart recovery and expiry (no server, no model)."""

from __future__ import annotations

import time

import pytest

from discodock.web.store import JobStore, new_job_id, valid_job_id


def test_ids_are_unguessable_tokens_and_nothing_else_is_an_id():
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(valid_job_id(i) and len(i) == 32 for i in ids)
    for bad in ("", "..", "../" + "a" * 29, "a" * 31, "a" * 33, "a" * 31 + "/", "a" * 31 + ".", "%2e" * 10 + "aa"):
        assert not valid_job_id(bad)
    store_dir_escape = "a" * 30 + "/."
    with pytest.raises(ValueError):
        JobStore.job_dir(object.__new__(JobStore), store_dir_escape)


def test_queue_order_claim_finish_and_cancel(tmp_path):
    store = JobStore(tmp_path)
    a, b, c = new_job_id(), new_job_id(), new_job_id()
    for job_id in (a, b, c):
        store.add(job_id, {"samples": 3})
        time.sleep(0.002)
    assert store.queue_position(store.get(c)) == 3
    first = store.claim_next()
    assert first.id == a and first.status == "running" and first.attempts == 1
    assert store.cancel(b) == "queued" and store.get(b).status == "cancelled"
    assert store.claim_next().id == c and store.claim_next() is None
    assert store.finish(a, {"poses": [{"rank": 1}]})
    assert store.get(a).result == {"poses": [{"rank": 1}]} and store.get(a).progress == 1
    assert not store.fail(a, "too late")  # a finished job stays finished
    assert store.cancel(new_job_id()) is None
    store.close()


def test_recover_requeues_once_then_marks_error(tmp_path):
    store = JobStore(tmp_path)
    job_id = new_job_id()
    store.add(job_id, {})
    store.claim_next()
    store.close()
    store = JobStore(tmp_path)  # a new server process on the same folder
    assert store.recover(max_attempts=2) == ([job_id], [])
    assert store.get(job_id).status == "queued"
    store.claim_next()
    assert store.recover(max_attempts=2) == ([], [job_id])
    job = store.get(job_id)
    assert job.status == "error" and "server stopped 2 times" in job.error


def test_expired_lists_only_finished_jobs_older_than_the_cutoff(tmp_path):
    store = JobStore(tmp_path)
    old, running = new_job_id(), new_job_id()
    store.add(old, {})
    store.add(running, {})
    store.claim_next()
    store.finish(old, {})
    store.claim_next()
    assert store.expired(time.time() + 1) == [old]
    assert store.expired(time.time() - 3600) == []
