"""Time of ``discodock serve`` docking the shipped 6ce6 example through its JSON API.

Starts a server (``--workers W``) on a free local port in a temporary data folder, waits until every worker has
loaded the model, submits J jobs at once with the page's defaults (10 poses, 20 steps, Vina refinement) and
prints the start-up time, each job's queue wait and run time, and the wall time until all were done.

    python benchmarks/speed/web_job_time.py [--workers 1] [--jobs 3] [--samples 10] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "6ce6"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="discodock_web_bench_") as tmp:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "discodock.cli", "serve", "--port", str(port), "--data-dir",
                                 tmp, "--workers", str(args.workers)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                try:
                    if requests.get(f"{base}/api/health", timeout=2).json()["workers_ready"] == args.workers:
                        break
                except requests.RequestException:
                    pass
                if proc.poll() is not None:
                    raise SystemExit(f"server exited with {proc.returncode}")
                time.sleep(0.2)
            print(f"server ready with {args.workers} worker(s) loaded: {time.monotonic() - t0:.1f} s")
            t1 = time.monotonic()
            ids = []
            for _ in range(args.jobs):
                files = {"protein": open(EXAMPLE / "6ce6_protein.pdb.gz", "rb"),
                         "ligand_file": open(EXAMPLE / "6ce6_ligand.sdf", "rb")}
                r = requests.post(f"{base}/api/jobs", files=files, data={
                    "pocket_center": "-2.2,3.4,7.3", "samples": args.samples, "steps": args.steps}, timeout=120)
                r.raise_for_status()
                ids.append(r.json()["id"])
            jobs = {}
            while len(jobs) < len(ids):
                for i in ids:
                    j = requests.get(f"{base}/api/jobs/{i}", timeout=10).json()
                    if j["status"] in ("done", "error", "cancelled"):
                        jobs[i] = j
                time.sleep(0.2)
            wall = time.monotonic() - t1
            for n, i in enumerate(ids, start=1):
                j = jobs[i]
                print(f"job {n}: {j['status']}, waited {j['started'] - j['created']:.1f} s, ran {j['elapsed_s']:.1f} s, "
                      f"{len(j['poses'])} poses")
            print(f"{args.jobs} job(s) of {args.samples} poses x {args.steps} steps: all done in {wall:.1f} s wall")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
