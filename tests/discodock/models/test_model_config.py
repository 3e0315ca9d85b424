"""Model configs: presets, YAML files, the loader's errors, and that every preset builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from discodock.errors import ConfigError
from discodock.models import config as C
from discodock.models.config import ModelConfig, load_model_config, model_config_from_dict

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "docking"


@pytest.mark.parametrize("name", sorted(C.PRESETS))
def test_yaml_files_match_the_presets(name):
    path = CONFIGS / f"{name}.yaml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    assert load_model_config(path) == model_config_from_dict(C.PRESETS[name])
    assert load_model_config(name) == load_model_config(path)


def test_blind_config_shares_the_cpu_networks():
    """A blind run warm-starts from the pocket model (--init-from), which needs identical networks."""
    from discodock.config import load_docking_config

    pocket, blind = load_docking_config(CONFIGS / "cpu.yaml"), load_docking_config(CONFIGS / "cpu_blind.yaml")
    assert blind.model == pocket.model
    assert (blind.data.mode, pocket.data.mode) == ("blind", "pocket")
    assert blind.diffusion.tr_max > pocket.diffusion.tr_max


def test_presets_without_the_configs_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "config_dir", lambda: tmp_path / "absent")
    cfg = load_model_config("diffdock_s")
    assert (cfg.score.ns, cfg.score.nv, cfg.score.num_layers, cfg.score.sh_lmax) == (24, 6, 5, 1)
    full = load_model_config("diffdock")
    assert (full.score.ns, full.score.nv, full.score.num_layers, full.score.sh_lmax) == (48, 10, 6, 2)
    with pytest.raises(ConfigError, match="unknown model config"):
        load_model_config("huge")


def test_defaults_follow_the_featurizer():
    from discodock.data import featurize

    cfg = ModelConfig()
    assert cfg.features.ligand == featurize.LIGAND_FEATURE_DIM
    assert cfg.features.bond == featurize.BOND_FEATURE_DIM
    assert cfg.features.receptor == featurize.RESIDUE_FEATURE_DIM
    assert (cfg.score.cross_base, cfg.score.cross_per_sigma, cfg.score.ligand_radius) == (20.0, 3.0, 5.0)


def test_bad_files_raise_config_errors(tmp_path):
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("model:\n  score:\n    nss: 4\n")
    with pytest.raises(ConfigError, match="bad_key.yaml: .*nss"):
        load_model_config(bad_key)
    bad_mode = tmp_path / "bad_mode.yaml"
    bad_mode.write_text("model:\n  latent:\n    mode: vector\n")
    with pytest.raises(ConfigError, match="bad_mode.yaml: latent mode"):
        load_model_config(bad_mode)
    bad_lmax = tmp_path / "bad_lmax.yaml"
    bad_lmax.write_text("model:\n  score:\n    sh_lmax: 3\n")
    with pytest.raises(ConfigError, match="sh_lmax"):
        load_model_config(bad_lmax)
    global_without_k = tmp_path / "global.yaml"
    global_without_k.write_text("model:\n  latent:\n    mode: global\n    m: 4\n")
    with pytest.raises(ConfigError, match="k >= 1"):
        load_model_config(global_without_k)
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_model_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_model_config(tmp_path / "missing.yaml")
    # Other sections (training, data) may sit beside the model section.
    other = tmp_path / "other.yaml"
    other.write_text("training:\n  lr: 0.001\nmodel:\n  score:\n    ns: 12\n")
    assert load_model_config(other).score.ns == 12


def test_shipped_preset_builds():
    # tiny is built by every other model test; the GPU sizes take tens of seconds to build on a CPU.
    from discodock.models import DockingPrior, LatentEncoder, ScoreNet

    cfg = load_model_config("cpu")
    sizes = [sum(p.numel() for p in cls(cfg).parameters()) for cls in (ScoreNet, LatentEncoder, DockingPrior)]
    assert all(s > 0 for s in sizes)
    assert torch.get_default_dtype() == torch.float32
