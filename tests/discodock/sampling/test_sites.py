"""Clustering residue probabilities into distinct sites, and the shipped predictor on a real complex."""

import pytest
import torch

from discodock.eval.site_metrics import dca
from discodock.sampling.sites import cluster_sites

from ..models.conftest import EXAMPLES


def _blob(centre, n, prob, generator):
    return torch.tensor(centre) + 2.0 * torch.randn(n, 3, generator=generator), torch.full((n,), prob)


def test_two_pockets_give_two_sites_ranked_by_summed_probability():
    g = torch.Generator().manual_seed(0)
    small = _blob([30.0, 0.0, 0.0], 3, 0.9, g)  # a few confident residues
    large = _blob([0.0, 0.0, 0.0], 12, 0.6, g)  # a well-lined pocket
    noise = (40.0 * torch.rand(60, 3, generator=g) - 20.0 + torch.tensor([0.0, 40.0, 0.0]), torch.full((60,), 0.01))
    coords = torch.cat([small[0], large[0], noise[0]])
    prob = torch.cat([small[1], large[1], noise[1]])
    sites = cluster_sites(prob, coords, k=3)
    assert len(sites) == 2  # background residues are below min_prob: no third site
    # equal weights within each blob: the centres are the blobs' means
    assert torch.allclose(sites[0].center, coords[3:15].mean(0), atol=1e-4)
    assert torch.allclose(sites[1].center, coords[:3].mean(0), atol=1e-4)
    assert sites[0].score > sites[1].score and sites[0].probability > sites[1].probability
    assert 0.0 < sum(s.probability for s in sites) <= 1.0
    assert set(sites[0].residues) == set(range(3, 15)) and set(sites[1].residues) == {0, 1, 2}
    assert cluster_sites(prob, coords, k=1)[0].residues == sites[0].residues


def test_without_a_likely_residue_the_most_probable_ones_still_give_a_site():
    coords = torch.arange(30, dtype=torch.float32).reshape(10, 3)
    prob = torch.linspace(0.01, 0.05, 10)
    sites = cluster_sites(prob, coords, k=3)
    assert sites and 9 in sites[0].residues


@pytest.mark.skipif(not (EXAMPLES / "6ce6").is_dir(), reason="example complex missing")
def test_shipped_predictor_finds_the_6ce6_site_among_its_top_three():
    from discodock.data.parsing import load_ligand
    from discodock.models.site_predictor import WEIGHTS
    from discodock.sampling.sites import predict_sites

    if not WEIGHTS.is_file():
        pytest.skip("no site predictor shipped")
    ligand = load_ligand(EXAMPLES / "6ce6" / "6ce6_ligand.sdf")
    sites = predict_sites(EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz", ligand, k=3)
    assert 1 <= len(sites) <= 3
    # 6ce6 (a training complex) is found at top-3, not top-1: its best site is 3.0 A from a ligand atom
    assert min(dca(s.center.numpy(), ligand.GetConformer().GetPositions()) for s in sites) < 4.0
