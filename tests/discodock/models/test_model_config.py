"""Model configs: presets, YAML files, the loader's errors, and that every preset builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from discodock.errors import ConfigError
from discodock.models import config as C
from discodock.models.config import ModelConfig, load_model_config, model_config_from_dict

def test_presets_are_packaged_yaml_files():
    names = C.preset_names()
    assert {"tiny", "cpu", "cpu_blind", "cpu_site", "diffdock_s", "diffdock"} <= set(names)
    for name in names:
        assert load_model_config(name) == load_model_config(C.preset_dir() / f"{name}.yaml")
    cfg = load_model_config("diffdock_s")
    assert (cfg.score.ns, cfg.score.nv, cfg.score.num_layers, cfg.score.sh_lmax) == (24, 6, 5, 1)
    full = load_model_config("diffdock")
    assert (full.score.ns, full.score.nv, full.score.num_layers, full.score.sh_lmax) == (48, 10, 6, 2)
    with pytest.raises(ConfigError, match="unknown config; presets are"):
        load_model_config("huge")


def test_blind_config_shares_the_cpu_networks():
    """A blind run warm-starts from the pocket model (--init-from), which needs identical networks."""
    from discodock.config import load_docking_config

    pocket, blind = load_docking_config("cpu"), load_docking_config("cpu_blind")
    assert blind.model == pocket.model
    assert (blind.data.mode, pocket.data.mode) == ("blind", "pocket")
    assert blind.diffusion.tr_max > pocket.diffusion.tr_max


def test_defaults_follow_the_featurizer():
    from discodock.data import featurize

    cfg = ModelConfig()
    assert cfg.features.ligand == featurize.LIGAND_FEATURE_DIM
    assert cfg.features.bond == featurize.BOND_FEATURE_DIM
    assert cfg.features.receptor == featurize.RESIDUE_FEATURE_DIM
    assert (cfg.score.cross_base, cfg.score.cross_per_sigma, cfg.score.ligand_radius) == (20.0, 3.0, 5.0)


@pytest.mark.parametrize("name, text, message", [
    ("bad_key", "model:\n  score:\n    nss: 4\n", "bad_key.yaml: .*nss"),
    ("bad_mode", "model:\n  latent:\n    mode: vector\n", "bad_mode.yaml: latent mode"),
    ("bad_lmax", "model:\n  score:\n    sh_lmax: 3\n", "sh_lmax"),
    ("global", "model:\n  latent:\n    mode: global\n    m: 4\n", "k >= 1"),
    ("contact", "model:\n  latent:\n    pointer_targets: contact\n    m: 1\n", "contact pointer latents need m >= 2"),
    ("broken", "model: [unclosed\n", "broken.yaml"),
])
def test_bad_files_raise_config_errors(tmp_path, name, text, message):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_model_config(path)


def test_missing_file_and_other_sections(tmp_path):
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
