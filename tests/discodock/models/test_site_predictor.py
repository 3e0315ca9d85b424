"""The site predictor: rotation-invariant logits, export / load round trip, bad files."""

import pytest
import torch

from discodock.data.site_residues import read_residues, site_graph
from discodock.errors import CheckpointError
from discodock.models.site_predictor import SitePredictor, SitePredictorConfig, load_site_predictor

from .conftest import EXAMPLES

PROTEIN = EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz"


def test_probabilities_are_invariant_and_weights_round_trip(tmp_path):
    from ..data.test_site_residues import _moved

    torch.manual_seed(0)
    model = SitePredictor(config=SitePredictorConfig(hidden=16, layers=2)).eval()
    res = read_residues(PROTEIN)
    q = torch.linalg.qr(torch.randn(3, 3))[0]
    rot = q * torch.sign(torch.linalg.det(q))
    p = model.probabilities(site_graph(res))
    p_moved = model.probabilities(site_graph(_moved(res, rot, torch.tensor([3.0, 1.0, -7.0]))))
    assert p.shape == (res.num_residues,) and ((p > 0) & (p < 1)).all()
    assert torch.allclose(p, p_moved, atol=1e-4)
    torch.save(model.export(), tmp_path / "site.pt")
    again = load_site_predictor(tmp_path / "site.pt")
    assert again.config == model.config
    assert torch.allclose(again.probabilities(site_graph(res)), p)


def test_missing_or_foreign_weights_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_site_predictor(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_site_predictor(tmp_path / "junk.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a discodock site-predictor"):
        load_site_predictor(tmp_path / "other.pt")
