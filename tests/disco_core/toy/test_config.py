import pytest

from disco_core.toy.config import load_config


def test_config_rejects_unknown_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_stepz: 10\n")
    with pytest.raises(ValueError, match="train_stepz"):
        load_config(bad)
    assert load_config(None, train_steps=7).train_steps == 7
