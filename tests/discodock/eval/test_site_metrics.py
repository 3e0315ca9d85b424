"""DCC / DCA and success at top-k on hand-placed coordinates."""

import math

import pytest

from discodock.eval.site_metrics import dca, dcc, found_at_k, success_rates

LIGAND = [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0]]  # centroid (2, 0, 0)


def test_dcc_is_the_distance_to_the_ligand_centroid():
    assert dcc([2.0, 0.0, 0.0], LIGAND) == pytest.approx(0.0)
    assert dcc([2.0, 3.0, 4.0], LIGAND) == pytest.approx(5.0)


def test_dca_is_the_distance_to_the_nearest_ligand_atom():
    assert dca([7.0, 0.0, 0.0], LIGAND) == pytest.approx(3.0)
    assert dca([2.0, 3.0, 0.0], LIGAND) == pytest.approx(math.sqrt(13.0))
    assert dca([7.0, 0.0, 0.0], LIGAND) < dcc([7.0, 0.0, 0.0], LIGAND)


def test_found_at_k_looks_only_at_the_first_k_sites():
    far, near = [20.0, 0.0, 0.0], [5.0, 0.0, 0.0]  # near: DCA 1 A, DCC 3 A
    assert not found_at_k([far, near], LIGAND, k=1)
    assert found_at_k([far, near], LIGAND, k=3)
    assert not found_at_k([near], LIGAND, k=1, metric="dcc", threshold=2.5)
    assert not found_at_k([], LIGAND, k=3)  # no site predicted: a miss


def test_success_rates_count_each_complex_once():
    rows = [([[2.0, 0.0, 0.0]], LIGAND), ([[20.0, 0.0, 0.0], [2.0, 1.0, 0.0]], LIGAND), ([], LIGAND)]
    rates = success_rates(rows)
    assert rates["n"] == 3
    assert rates["dcc_top1"] == pytest.approx(1 / 3) and rates["dcc_top3"] == pytest.approx(2 / 3)
    assert rates["dca_top1"] == pytest.approx(1 / 3) and rates["dca_top3"] == pytest.approx(2 / 3)
