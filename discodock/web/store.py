"""The job store: one SQLite table in the server's data folder, so jobs outlive the server process.

A job is ``queued`` -> ``running`` -> ``done`` | ``error`` | ``cancelled``. Only the web process writes here
(the workers report to it), through one connection guarded by a lock.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "running")
FINISHED = ("done", "error", "cancelled")
# token_urlsafe(24): 32 characters of [A-Za-z0-9_-], 192 random bits.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    params TEXT NOT NULL,
    result TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
"""


def new_job_id() -> str:
    return secrets.token_urlsafe(24)


def valid_job_id(job_id: str) -> bool:
    """Only ids of the form this store hands out: nothing that could name another path."""
    return bool(_ID_RE.match(job_id or ""))


@dataclass
class Job:
    id: str
    status: str
    stage: str
    progress: float
    error: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    created: float
    started: float | None
    finished: float | None
    attempts: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        d = dict(row)
        d["params"] = json.loads(d["params"])
        d["result"] = json.loads(d["result"]) if d["result"] else None
        return cls(**d)


class JobStore:
    """Jobs in ``<data_dir>/jobs.sqlite3``; each job's files in ``<data_dir>/jobs/<id>/``."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir).resolve()  # workers change directory; paths handed to them are absolute
        self.jobs_dir = self.data_dir / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / "jobs.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def job_dir(self, job_id: str) -> Path:
        if not valid_job_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.jobs_dir / job_id

    def _exec(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def add(self, job_id: str, params: dict[str, Any]) -> None:
        self._exec("INSERT INTO jobs (id, status, stage, params, created) VALUES (?, 'queued', 'waiting for a "
                   "free docking worker', ?, ?)", (job_id, json.dumps(params), time.time()))

    def get(self, job_id: str) -> Job | None:
        if not valid_job_id(job_id):
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def count(self, *statuses: str) -> int:
        marks = ",".join("?" * len(statuses))
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE status IN ({marks})", statuses)
                       .fetchone()[0])

    def queue_position(self, job: Job) -> int:
        """1 for the next job to start."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND created <= ?",
                                        (job.created,)).fetchone()[0])

    def claim_next(self) -> Job | None:
        """The oldest queued job, now marked running (one transaction, so no job is handed out twice)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1"
                                       ).fetchone()
                if row is not None:
                    self._db.execute("UPDATE jobs SET status = 'running', stage = 'starting', progress = 0, "
                                     "started = ?, attempts = attempts + 1 WHERE id = ?", (time.time(), row["id"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is None:
            return None
        job = Job.from_row(row)
        job.status, job.attempts = "running", job.attempts + 1
        return job

    def set_stage(self, job_id: str, stage: str, progress: float) -> None:
        self._exec("UPDATE jobs SET stage = ?, progress = ? WHERE id = ? AND status = 'running'",
                   (stage, progress, job_id))

    def finish(self, job_id: str, result: dict[str, Any]) -> bool:
        cur = self._exec("UPDATE jobs SET status = 'done', stage = 'done', progress = 1, result = ?, finished = ? "
                         "WHERE id = ? AND status = 'running'", (json.dumps(result), time.time(), job_id))
        return cur.rowcount == 1

    def fail(self, job_id: str, message: str) -> bool:
        cur = self._exec("UPDATE jobs SET status = 'error', stage = 'error', error = ?, finished = ? "
                         "WHERE id = ? AND status IN ('queued', 'running')", (message, time.time(), job_id))
        return cur.rowcount == 1

    def cancel(self, job_id: str) -> str | None:
        """Mark a queued or running job cancelled; returns the status it had (None: no such job)."""
        with self._lock:
            row = self._db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            if row["status"] in ACTIVE:
                self._db.execute("UPDATE jobs SET status = 'cancelled', stage = 'cancelled', finished = ? "
                                 "WHERE id = ?", (time.time(), job_id))
            return row["status"]

    def delete(self, job_id: str) -> None:
        self._exec("DELETE FROM jobs WHERE id = ?", (job_id,))

    def recover(self, *, max_attempts: int) -> tuple[list[str], list[str]]:
        """After a restart: jobs left ``running`` by a server that died are queued again, or marked error once
        they have been started ``max_attempts`` times. Returns (requeued ids, failed ids)."""
        with self._lock:
            rows = self._db.execute("SELECT id, attempts FROM jobs WHERE status = 'running'").fetchall()
        requeued, failed = [], []
        for row in rows:
            if row["attempts"] >= max_attempts:
                self._exec("UPDATE jobs SET status = 'error', stage = 'error', finished = ?, error = ? WHERE id = ?",
                           (time.time(), f"the server stopped {row['attempts']} times while this job ran; "
                                         "not started again", row["id"]))
                failed.append(row["id"])
            else:
                self._exec("UPDATE jobs SET status = 'queued', stage = 'queued again after a server restart', "
                           "progress = 0 WHERE id = ?", (row["id"],))
                requeued.append(row["id"])
        return requeued, failed

    def expired(self, older_than: float) -> list[str]:
        """Finished jobs whose end is before the time ``older_than`` (seconds since the epoch)."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM jobs WHERE status IN ('done', 'error', 'cancelled') "
                                    "AND finished < ?", (older_than,)).fetchall()
        return [r["id"] for r in rows]
