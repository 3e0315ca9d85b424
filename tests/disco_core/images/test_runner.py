"""End to end on a shrunken digits run: the CLI writes images.json and the figures; sampling is seeded."""

import json

import numpy as np
import pytest
import torch
import yaml

from disco_core.images.__main__ import main
from disco_core.images.config import ImagesConfig, load_config
from disco_core.images.runner import RESULT_KEYS, eval_step, run_images, sample_step

torch.set_num_threads(1)

TINY = dict(
    channels=8, train_steps=12, prior_steps=10, prior_eval_every=5, classifier_steps=20, n_samples=24, num_steps=3,
    m=2, k=4, encoder_channels=[8, 16], classifier_channels=[8, 16], feature_dim=8, batch_size=32, grid=4,
)
REQUIRED = ("fd_baseline", "fd_disco", "nfe", "curvature_baseline", "curvature_disco", "seconds", "codebook_perplexity")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    assert main(["run", "--config", str(config), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def test_run_writes_images_json_and_figures(run_dir):
    result = json.loads((run_dir / "images.json").read_text())
    for key in REQUIRED:
        assert key in result, key
    assert set(result) <= set(RESULT_KEYS)
    assert result["nfe"] == 2 * TINY["num_steps"] - 1
    assert result["n_samples"] == TINY["n_samples"]
    assert all(np.isfinite(result[k]) and result[k] >= 0 for k in REQUIRED)
    assert 1.0 <= result["codebook_perplexity"] <= TINY["k"]
    assert "not ImageNet FID" in result["metric"]
    for name in ("baseline", "disco"):
        png = run_dir / f"samples_{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        images = np.load(run_dir / f"samples_{name}.npy")
        assert images.shape == (TINY["n_samples"], 1, 8, 8) and np.abs(images).max() <= 1.0
    # The prior's temperature was chosen on held-out training codes; its codes were drawn from its table.
    assert result["prior_temperature"] in ImagesConfig().prior_temperatures
    assert set(result["prior_val_nll_by_temperature"]) == {f"{t:g}" for t in ImagesConfig().prior_temperatures}
    assert result["codes_drawn_by"].startswith("inverse CDF")
    assert 0 <= result["prior_marginal_tv_val"] <= 1 and "curvature_disco_oracle" in result
    # The resolved config (sigma_data filled in from the data) sits beside the checkpoints.
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["sigma_data"] == pytest.approx(0.75, abs=0.02)


def test_sampling_is_deterministic_for_a_seed(run_dir):
    first = sample_step(run_dir, models=("baseline", "disco"), seed=5, verbose=False)
    a = {m: np.load(run_dir / f"samples_{m}.npy") for m in ("baseline", "disco")}
    sample_step(run_dir, models=("baseline", "disco"), seed=5, verbose=False)
    b = {m: np.load(run_dir / f"samples_{m}.npy") for m in ("baseline", "disco")}
    sample_step(run_dir, models=("baseline", "disco"), seed=6, verbose=False)
    c = {m: np.load(run_dir / f"samples_{m}.npy") for m in ("baseline", "disco")}
    for m in ("baseline", "disco"):
        assert np.array_equal(a[m], b[m])
        assert not np.allclose(a[m], c[m])
    assert first["baseline"]["nfe"] == first["disco"]["nfe"]


def test_run_equals_its_steps(run_dir, tmp_path):
    """``run`` and ``train`` (parts in two calls) + ``sample`` give the same samples for the same seed."""
    config = run_dir.parent / "tiny.yaml"
    steps = tmp_path / "steps"
    assert main(["train", "--config", str(config), "--out", str(steps), "--parts", "classifier,baseline,disco", "--quiet"]) == 0
    assert main(["train", "--config", str(config), "--out", str(steps), "--parts", "prior", "--quiet"]) == 0
    sample_step(steps, models=("baseline", "disco"), seed=0, verbose=False)
    sample_step(run_dir, models=("baseline", "disco"), seed=0, verbose=False)
    for m in ("baseline", "disco"):
        assert np.array_equal(np.load(steps / f"samples_{m}.npy"), np.load(run_dir / f"samples_{m}.npy"))


def test_guidance_counts_both_passes(run_dir):
    info = sample_step(run_dir, models=("disco",), seed=0, n=4, num_steps=2, guidance=1.0, verbose=False)
    assert info["disco"]["nfe"] == 2 * 3  # 3 Heun evaluations, each with and without the latents
    sample_step(run_dir, models=("baseline",), seed=0, n=4, num_steps=2, verbose=False)
    with pytest.raises(ValueError, match="different NFE"):
        eval_step(run_dir, verbose=False)


def test_sample_and_eval_subcommands(run_dir, capsys):
    assert main(["sample", "--out", str(run_dir), "--steps", "2", "--n", "10", "--prior-temperature", "1.5", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", "--out", str(run_dir), "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["nfe"] == 3 and printed["n_samples"] == 10
    assert "seconds" in printed  # kept from the run
    assert json.loads((run_dir / "images.json").read_text()) == printed


def test_class_conditional_run_reports_class_accuracy(tmp_path):
    cfg = ImagesConfig(**{**TINY, "conditional": True, "oracle": False, "n_samples": 20, "train_steps": 4})
    result = run_images(tmp_path / "cond", config=cfg, verbose=False)
    for name in ("baseline", "disco"):
        assert 0.0 <= result[f"class_accuracy_{name}"] <= 1.0
    labels = np.load(tmp_path / "cond" / "labels_disco.npy")
    assert np.bincount(labels).tolist() == [2] * 10  # balanced classes


def test_bad_input_exits_with_one_line(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.yaml" in err and "\n" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("chanels: 8\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "chanels" in capsys.readouterr().err
    assert main(["eval", "--out", str(tmp_path / "empty")]) == 2
    assert "classifier.pt" in capsys.readouterr().err
    with pytest.raises(ValueError, match="m >= 1"):
        load_config(None, m=0)


def test_images_package_stays_domain_free():
    import subprocess
    import sys

    code = (
        "import sys, disco_core.images.runner, disco_core.images.__main__\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'discodock', 'rdkit', 'torch_geometric', 'e3nn'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
