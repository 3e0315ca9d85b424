"""Training the site predictor on the four example complexes: the loss drops, a killed run resumes, export."""

import json

import pytest
import torch

from discodock.models.site_predictor import load_site_predictor
from discodock.training.site import main

from ..models.conftest import EXAMPLES

IDS = ["6ce6", "5y12", "5n17", "3d6p"]


def _args(tmp_path, *extra):
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(IDS) + "\n")
    return ["--data", str(EXAMPLES), "--train-ids", str(ids), "--val-ids", str(ids), "--out", str(tmp_path / "run"),
            "--cache", str(tmp_path / "cache.pt"), "--hidden", "16", "--layers", "2", "--batch", "1",
            "--lr", "5e-3", *extra]


def _history(tmp_path):
    return [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]


def test_training_lowers_the_loss_resumes_and_exports(tmp_path):
    if not all((EXAMPLES / i).is_dir() for i in IDS):
        pytest.skip("example complexes missing")
    assert main(_args(tmp_path, "--epochs", "20", "--max-minutes", "0")) == 0  # stops after one epoch
    assert len(_history(tmp_path)) == 1
    assert main(_args(tmp_path, "--epochs", "20")) == 2  # an existing run is not overwritten silently
    export = tmp_path / "site.pt"
    assert main(_args(tmp_path, "--epochs", "20", "--resume", "--export", str(export))) == 0
    history = _history(tmp_path)
    assert [h["epoch"] for h in history] == list(range(1, 21))
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    model = load_site_predictor(export)
    saved = torch.load(export, weights_only=False)
    assert saved["training"]["label_cutoff"] == 5.0 and 1 <= saved["training"]["epoch"] <= 20
    assert model.config.hidden == 16
