"""A real ``discodock serve`` in a subprocess (uvicorn, spawned docking workers, SQLite store) for the web tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "examples" / "6ce6"
PROTEIN = EXAMPLE / "6ce6_protein.pdb.gz"
LIGAND = EXAMPLE / "6ce6_ligand.sdf"
CENTER = "-2.2,3.4,7.3"  # README's example site (Angstrom)
TINY = {"samples": "3", "steps": "5", "refine": "vina"}  # tiny docking settings: seconds per job on one CPU thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m discodock.cli serve`` in its own process group (the docking workers are its children)."""

    def __init__(self, data_dir: Path, *, workers: int = 1, extra: tuple[str, ...] = (), host: str = "127.0.0.1"):
        self.data_dir, self.workers = Path(data_dir), workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server-{self.port}.log"
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "discodock.cli", "serve", "--host", host, "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--workers", str(workers), *extra],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 300.0) -> Server:
        """Until the API answers and every worker has loaded the model."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                h = requests.get(f"{self.base}/api/health", timeout=2).json()
                if h["workers_ready"] == self.workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Signal the server and its workers (the whole process group this test started)."""
        if self.proc.poll() is None or sig == signal.SIGKILL:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)
        try:  # workers left behind by a SIGKILLed server
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()

    # ---- API helpers
    def submit(self, *, protein=PROTEIN, ligand_file=LIGAND, smiles=None, center=CENTER, fields=None,
               files=None) -> requests.Response:
        data = dict(TINY)
        if smiles is not None:
            data["ligand"] = smiles
        if center is not None:
            data["pocket_center"] = center
        data.update(fields or {})
        up = {}
        if protein is not None:
            up["protein"] = (Path(protein).name, Path(protein).read_bytes())
        if ligand_file is not None and smiles is None:
            up["ligand_file"] = (Path(ligand_file).name, Path(ligand_file).read_bytes())
        up.update(files or {})
        return requests.post(f"{self.base}/api/jobs", data=data, files=up, timeout=60)

    def job(self, job_id: str) -> dict:
        r = requests.get(f"{self.base}/api/jobs/{job_id}", timeout=10)
        r.raise_for_status()
        return r.json()

    def wait(self, job_id: str, *, until=("done", "error", "cancelled"), timeout: float = 240.0) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.job(job_id)
            if job["status"] in until:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s:\n{self.log()[-3000:]}")


@pytest.fixture(scope="session")
def server_class():
    """The :class:`Server` helper, for tests that start and kill their own servers."""
    return Server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the API and page tests: 2 workers, a 2 MB upload cap."""
    srv = Server(tmp_path_factory.mktemp("web") / "data", workers=2, extra=("--max-upload-mb", "2"))
    try:
        yield srv.wait_ready()
    finally:
        srv.kill()


@pytest.fixture(scope="session")
def docked(server):
    """A finished 6ce6 job (id, job JSON) shared by the read-only tests."""
    r = server.submit()
    assert r.status_code == 202, r.text
    job = server.wait(r.json()["id"])
    assert job["status"] == "done", job
    return job
