import json

import pytest

from disco_core.toy.__main__ import main
from disco_core.toy.runner import RESULT_KEYS, run_toy

# A shrunken run: the pipeline end to end in a few seconds, not the science.
TINY = dict(
    n_train=400, hidden=32, layers=2, train_steps=60, batch_size=64, encoder_hidden=32, encoder_layers=1,
    prior_steps=10, prior_d_model=16, prior_layers=1, prior_heads=2, num_steps=8, n_eval=120, n_plot_paths=4,
)


def _check_outputs(out_dir, result, seed):
    assert tuple(result) == RESULT_KEYS
    on_disk = json.loads((out_dir / "toy.json").read_text())
    assert set(on_disk) == set(RESULT_KEYS)
    assert on_disk["seed"] == seed
    for key in RESULT_KEYS[:4]:
        assert on_disk[key] == pytest.approx(result[key]) and on_disk[key] >= 0
    assert 1.0 <= on_disk["codebook_perplexity"] <= 8.0 + 1e-9
    assert on_disk["seconds"] > 0
    png = (out_dir / "toy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_shrunken_run_writes_json_and_png(tmp_path):
    result = run_toy(tmp_path, seed=3, verbose=False, **TINY)
    _check_outputs(tmp_path, result, 3)


def test_cli_reads_yaml_config(tmp_path, capsys):
    cfg = tmp_path / "toy.yaml"
    cfg.write_text("\n".join(f"{k}: {v}" for k, v in TINY.items()) + "\n")
    out = tmp_path / "out"
    assert main(["--out", str(out), "--seed", "1", "--config", str(cfg), "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    _check_outputs(out, printed, 1)
