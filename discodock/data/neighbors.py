"""Radius / k-nearest-neighbour graphs in plain torch.

PyG 2.8's ``radius_graph`` / ``knn_graph`` need ``pyg-lib`` or ``torch-cluster`` (compiled extensions
that are hard to install), so the graphs here are built with ``torch.cdist`` per example, in row blocks to
bound memory, and ``topk`` for neighbour caps. They follow PyG's ``source_to_target`` convention:
``edge_index[0]`` is the neighbour (source, j) and ``edge_index[1]`` the centre (target, i) that receives
the message; a neighbour cap limits how many edges each *centre* receives (the nearest are kept).
Graph construction is not differentiable (indices only) and runs on the device of its inputs.
"""

from __future__ import annotations

import torch

# cdist blocks are kept to about this many distances (16 MiB of float32).
_BLOCK_ELEMENTS = 1 << 22


def _segments(batch: torch.Tensor | None, n: int, num_graphs: int | None, device: torch.device):
    """Yield (graph id, indices of its elements) for a batch vector (sorted or not)."""
    if batch is None:
        yield 0, torch.arange(n, device=device)
        return
    batch = batch.long()
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if n else 0
    order = torch.argsort(batch, stable=True)
    counts = torch.bincount(batch, minlength=num_graphs).tolist()
    start = 0
    for g, c in enumerate(counts):
        yield g, order[start:start + c]
        start += c


def _radii(r) -> list[float] | None:
    """Per-example radii as floats (one host transfer), or None for a single float radius."""
    if isinstance(r, torch.Tensor) and r.ndim > 0:
        return [float(v) for v in r.detach().cpu().tolist()]
    return None


def _radius_of(r, radii: list[float] | None, g: int) -> float:
    return float(r) if radii is None else radii[g]


def _pairs_within(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float,
    max_neighbours: int | None,
    exclude_self: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs (i in x, j in y) with |x_i - y_j| < r; at most ``max_neighbours`` nearest j per i.

    ``exclude_self`` drops i == j (x and y are then the same point set).
    """
    rows, cols = [], []
    n_y = y.shape[0]
    if x.shape[0] == 0 or n_y == 0:
        empty = torch.zeros(0, dtype=torch.long, device=x.device)
        return empty, empty
    block = max(1, _BLOCK_ELEMENTS // n_y)
    for start in range(0, x.shape[0], block):
        d = torch.cdist(x[start:start + block], y)
        if exclude_self:
            idx = torch.arange(d.shape[0], device=x.device)
            d[idx, idx + start] = float("inf")
        if max_neighbours is not None and max_neighbours < n_y:
            vals, nbr = torch.topk(d, max_neighbours, dim=1, largest=False)
            keep = vals < r
            i = torch.arange(d.shape[0], device=x.device).unsqueeze(1).expand_as(nbr)[keep]
            j = nbr[keep]
        else:
            i, j = torch.nonzero(d < r, as_tuple=True)
        rows.append(i + start)
        cols.append(j)
    return torch.cat(rows), torch.cat(cols)


@torch.no_grad()
def radius_graph(
    pos: torch.Tensor,
    r: float | torch.Tensor,
    *,
    batch: torch.Tensor | None = None,
    max_neighbours: int | None = None,
    loop: bool = False,
) -> torch.Tensor:
    """Edges between points closer than ``r`` (Angstrom) within each example of a batch.

    Args:
        pos: [N, 3] coordinates.
        r: cutoff radius, a float or a tensor [num_graphs] with one radius per example.
        batch: [N] example index of each point (None: one example).
        max_neighbours: keep at most this many nearest neighbours per centre.
        loop: include self-edges (i, i).

    Returns:
        long [2, E]: row 0 the neighbour j, row 1 the centre i, sorted by centre within each example.
    """
    edges = []
    num_graphs = None if not isinstance(r, torch.Tensor) or r.ndim == 0 else r.numel()
    radii = _radii(r)
    for g, idx in _segments(batch, pos.shape[0], num_graphs, pos.device):
        p = pos[idx]
        centre, nbr = _pairs_within(p, p, _radius_of(r, radii, g), max_neighbours, exclude_self=not loop)
        edges.append(torch.stack([idx[nbr], idx[centre]]))
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.cat(edges, dim=1)


@torch.no_grad()
def knn_graph(
    pos: torch.Tensor,
    k: int,
    *,
    batch: torch.Tensor | None = None,
    loop: bool = False,
) -> torch.Tensor:
    """Edges from each point's ``k`` nearest neighbours within its example: long [2, E] (neighbour, centre)."""
    return radius_graph(pos, float("inf"), batch=batch, max_neighbours=k, loop=loop)


@torch.no_grad()
def radius_bipartite(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float | torch.Tensor,
    *,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    max_neighbours: int | None = None,
) -> torch.Tensor:
    """Cross edges between two point sets of the same examples (e.g. ligand atoms and residues).

    Args:
        x: [Nx, 3] points (e.g. ligand atoms); y: [Ny, 3] points (e.g. receptor C-alphas).
        r: cutoff in Angstrom, a float or a tensor [num_graphs] (e.g. growing with each example's sigma_tr).
        batch_x, batch_y: example index of each point (None: one example).
        max_neighbours: at most this many nearest y per x.

    Returns:
        long [2, E]: row 0 indexes x, row 1 indexes y; pairs closer than ``r``, grouped by x.
    """
    if (batch_x is None) != (batch_y is None):
        raise ValueError("give both batch_x and batch_y, or neither")
    if batch_x is None:
        seg_x = [(0, torch.arange(x.shape[0], device=x.device))]
        seg_y = {0: torch.arange(y.shape[0], device=y.device)}
    else:
        num_graphs = int(max(batch_x.max() if batch_x.numel() else -1, batch_y.max() if batch_y.numel() else -1)) + 1
        if isinstance(r, torch.Tensor) and r.ndim > 0:
            num_graphs = max(num_graphs, r.numel())
        seg_x = list(_segments(batch_x, x.shape[0], num_graphs, x.device))
        seg_y = dict(_segments(batch_y, y.shape[0], num_graphs, y.device))
    edges = []
    radii = _radii(r)
    for g, ix in seg_x:
        iy = seg_y[g]
        i, j = _pairs_within(x[ix], y[iy], _radius_of(r, radii, g), max_neighbours, exclude_self=False)
        edges.append(torch.stack([ix[i], iy[j]]))
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=x.device)
    return torch.cat(edges, dim=1)
