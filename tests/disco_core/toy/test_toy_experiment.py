import json

import pytest
import torch

from disco_core.prior.ar_transformer import ARPrior
from disco_core.toy.__main__ import main
from disco_core.toy.experiment import RESULT_KEYS, load_config, prior_codes_by_inverse_cdf, run_toy, usage_deficit

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


def test_config_rejects_unknown_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_stepz: 10\n")
    with pytest.raises(ValueError, match="train_stepz"):
        load_config(bad)
    assert load_config(None, train_steps=7).train_steps == 7


def test_inverse_cdf_codes_follow_prior_probabilities():
    torch.manual_seed(0)
    prior = ARPrior(m=2, k=3, d_model=16, n_layers=1, n_heads=2)
    with torch.no_grad():
        prior.head.weight.mul_(20)  # make the joint clearly non-uniform
    u = (torch.arange(9000) + 0.5) / 9000
    codes = prior_codes_by_inverse_cdf(prior, u)
    assert codes.shape == (9000, 2)
    seqs = torch.cartesian_prod(torch.arange(3), torch.arange(3))
    with torch.no_grad():
        probs = prior.log_prob(seqs).exp()
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    freq = torch.stack([((codes == s).all(1)).float().mean() for s in seqs])
    torch.testing.assert_close(freq, probs, atol=2e-3, rtol=0)


def test_usage_deficit_is_zero_for_uniform_use_and_log_k_for_collapse():
    uniform = torch.eye(8)[:, None, :] * 50.0  # [8, 1, 8]: each example confidently a different code
    collapsed = torch.zeros(8, 1, 8)
    collapsed[:, 0, 2] = 50.0
    assert usage_deficit(uniform).item() == pytest.approx(0.0, abs=1e-6)
    assert usage_deficit(collapsed).item() == pytest.approx(torch.log(torch.tensor(8.0)).item(), abs=1e-6)
