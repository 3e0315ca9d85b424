"""Radius / kNN graphs against brute force."""

from __future__ import annotations

import pytest
import torch

from discodock.data import neighbors
from discodock.data.neighbors import knn_graph, radius_bipartite, radius_graph


def _edges(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, edge_index.t().tolist()))


def _brute_radius(pos, r, batch, loop):
    out = set()
    n = len(pos)
    for i in range(n):
        for j in range(n):
            if batch[i] != batch[j] or (i == j and not loop):
                continue
            if torch.linalg.norm(pos[i] - pos[j]) < r:
                out.add((j, i))
    return out


@pytest.fixture
def cloud():
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(90, 3, generator=g) * 10
    batch = torch.randint(0, 3, (90,), generator=g)  # unsorted on purpose
    return pos, batch


@pytest.mark.parametrize("loop", [False, True])
def test_radius_graph_matches_brute_force(cloud, loop):
    pos, batch = cloud
    got = radius_graph(pos, 3.0, batch=batch, loop=loop)
    assert got.dtype == torch.long
    assert _edges(got) == _brute_radius(pos, 3.0, batch.tolist(), loop)
    assert got.shape[1] == len(_edges(got))  # no duplicates


def test_radius_graph_neighbour_cap_keeps_nearest(cloud):
    pos, batch = cloud
    full = _edges(radius_graph(pos, 4.0, batch=batch))
    capped = radius_graph(pos, 4.0, batch=batch, max_neighbours=5)
    assert _edges(capped) <= full
    for i in range(len(pos)):
        nbrs = [j for j, c in full if c == i]
        kept = capped[0, capped[1] == i].tolist()
        assert len(kept) == min(5, len(nbrs))
        d = lambda j: float(torch.linalg.norm(pos[i] - pos[j]))  # noqa: E731
        assert sorted(d(j) for j in kept) == pytest.approx(sorted(d(j) for j in nbrs)[: len(kept)])


def test_radius_graph_per_example_radius(cloud):
    pos, batch = cloud
    r = torch.tensor([1.0, 3.0, 5.0])
    got = _edges(radius_graph(pos, r, batch=batch))
    want = {(j, i) for (j, i) in _brute_radius(pos, 5.0, batch.tolist(), False)
            if torch.linalg.norm(pos[i] - pos[j]) < r[batch[i]]}
    assert got == want


def test_radius_graph_blocks(monkeypatch, cloud):
    pos, batch = cloud
    want = _edges(radius_graph(pos, 3.0, batch=batch, max_neighbours=4))
    monkeypatch.setattr(neighbors, "_BLOCK_ELEMENTS", 7)  # force many small cdist blocks
    assert _edges(radius_graph(pos, 3.0, batch=batch, max_neighbours=4)) == want


def test_knn_graph(cloud):
    pos, batch = cloud
    edges = knn_graph(pos, 4, batch=batch)
    for i in range(len(pos)):
        kept = edges[0, edges[1] == i]
        assert len(kept) == 4 and bool((batch[kept] == batch[i]).all()) and i not in kept.tolist()
        same = (batch == batch[i]).nonzero().flatten()
        same = same[same != i]
        d = torch.linalg.norm(pos[same] - pos[i], dim=1)
        assert torch.linalg.norm(pos[kept] - pos[i], dim=1).max() <= d.sort().values[3] + 1e-6


def test_radius_bipartite_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(30, 3, generator=g) * 8, torch.rand(50, 3, generator=g) * 8
    bx, by = torch.randint(0, 2, (30,), generator=g), torch.randint(0, 2, (50,), generator=g)
    r = torch.tensor([2.5, 4.0])
    got = radius_bipartite(x, y, r, batch_x=bx, batch_y=by)
    want = {(i, j) for i in range(30) for j in range(50)
            if bx[i] == by[j] and torch.linalg.norm(x[i] - y[j]) < r[bx[i]]}
    assert _edges(got) == want
    capped = radius_bipartite(x, y, r, batch_x=bx, batch_y=by, max_neighbours=2)
    assert _edges(capped) <= want
    assert torch.bincount(capped[0], minlength=30).max() <= 2
    single = radius_bipartite(x, y, 3.0)
    assert _edges(single) == {(i, j) for i in range(30) for j in range(50) if torch.linalg.norm(x[i] - y[j]) < 3.0}


def test_empty_inputs():
    assert radius_graph(torch.zeros(0, 3), 1.0).shape == (2, 0)
    assert radius_bipartite(torch.zeros(0, 3), torch.rand(4, 3), 1.0).shape == (2, 0)
