"""Two-process DDP training on the CPU (gloo) through the same entry point users run with torchrun."""

import json
import os
import subprocess
import sys

import pytest
import torch

from .conftest import EXAMPLES, IDS, REPO


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch built without gloo")
def test_torchrun_two_processes_train_in_step(tmp_path):
    """Each rank trains on its half of every epoch; at the end train_score checks that the ranks' weights agree
    (gradients were all-reduced), rank 0 alone writes the log and the weights."""
    (tmp_path / "train.txt").write_text("\n".join(IDS[:3]) + "\n")
    (tmp_path / "val.txt").write_text(IDS[3] + "\n")
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
        "-m", "discodock.training", "--config", "tiny", "--data", str(EXAMPLES),
        "--train-ids", str(tmp_path / "train.txt"), "--val-ids", str(tmp_path / "val.txt"),
        "--out", str(out), "--cache", str(tmp_path / "cache"), "--steps", "4", "--device", "cpu", "--quiet",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in log if r["split"] == "train"]
    assert train_steps and max(train_steps) == 4  # one log, written by rank 0 only
    assert (out / "weights.pt").is_file()
    assert proc.stdout.count("score stage: 4 steps") == 2  # both ranks finished
