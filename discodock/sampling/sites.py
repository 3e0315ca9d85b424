"""From per-residue site probabilities to a few distinct binding sites (centres in Angstrom).

The site predictor gives each residue a probability p_r of lining the binding site. Normalised over the
receptor, q_r = p_r / sum(p), it is the prior of the site-picking pointer latent; a site's probability is
the mass q puts on its residues. Sites are found greedily: seed at the most probable residue not yet taken,
move the centre to the probability-weighted mean of the likely residues around it (a few mean-shift steps),
take the likely residues within ``radius`` of that centre as the site's members, repeat. Sites are ranked
by their summed probability (a deep, well-lined pocket outranks one confident residue).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from rdkit import Chem


@dataclass
class Site:
    """A candidate binding site.

    Attributes:
        center: [3] Angstrom, protein frame.
        probability: share of the residue distribution q on this site's residues (sums to <= 1 over sites).
        score: summed per-residue probability of its members.
        max_probability: the highest per-residue probability among its members.
        residues: indices (into the receptor's residues) of its members.
    """

    center: torch.Tensor
    probability: float
    score: float
    max_probability: float
    residues: list[int]

    def to_json(self) -> dict:
        return {"center": [round(float(v), 3) for v in self.center], "probability": round(self.probability, 4),
                "score": round(self.score, 4), "max_residue_probability": round(self.max_probability, 4),
                "num_residues": len(self.residues)}


def cluster_sites(
    prob: torch.Tensor,
    coords: torch.Tensor,
    *,
    k: int = 3,
    radius: float = 12.0,
    min_prob: float = 0.25,
    max_sites: int = 10,
    shift_steps: int = 3,
    rank_by: str = "sum",
) -> list[Site]:
    """The ``k`` best distinct sites from residue probabilities ``prob`` [R] at ``coords`` [R, 3] (Angstrom).

    Residues with ``prob >= min_prob`` are the candidates (the 5 most probable when none reaches it);
    ``radius`` (Angstrom) is a site's extent around its centre. Up to ``max_sites`` sites are formed, then
    ranked by summed probability (``rank_by="sum"``) or by their most probable residue (``"max"``), and the
    best ``k`` returned (fewer when the candidates run out).
    """
    if rank_by not in ("sum", "max"):
        raise ValueError(f"rank_by must be 'sum' or 'max', got {rank_by!r}")
    prob = prob.detach().float().cpu()
    coords = coords.detach().float().cpu()
    if prob.numel() == 0:
        return []
    cand = prob >= min_prob
    if int(cand.sum()) == 0:
        cand = torch.zeros_like(cand)
        cand[torch.topk(prob, min(5, prob.numel())).indices] = True
    total = float(prob.sum()) or 1.0
    remaining = cand.clone()
    sites: list[Site] = []
    while bool(remaining.any()) and len(sites) < max_sites:
        seed = int(torch.argmax(torch.where(remaining, prob, torch.full_like(prob, -1.0))))
        centre = coords[seed]
        for _ in range(shift_steps):
            near = remaining & ((coords - centre).norm(dim=1) < radius)
            w = prob[near]
            centre = (w[:, None] * coords[near]).sum(0) / w.sum()
        members = remaining & ((coords - centre).norm(dim=1) < radius)
        members[seed] = True
        idx = torch.nonzero(members).flatten()
        sites.append(Site(center=centre, probability=float(prob[idx].sum()) / total, score=float(prob[idx].sum()),
                          max_probability=float(prob[idx].max()), residues=idx.tolist()))
        remaining &= ~members
    sites.sort(key=lambda s: -s.score if rank_by == "sum" else -s.max_probability)
    return sites[:k]


def predict_sites(protein_path: str | Path, ligand: Chem.Mol | None = None, *, k: int = 3, predictor=None,
                  **cluster_kwargs) -> list[Site]:
    """The ``k`` most likely binding sites of a receptor file for ``ligand`` (shipped predictor by default)."""
    from discodock.data.site_residues import read_residues, site_graph
    from discodock.models.site_predictor import load_site_predictor

    predictor = predictor or load_site_predictor()
    graph = site_graph(read_residues(protein_path), ligand, k=predictor.config.k)
    return cluster_sites(predictor.probabilities(graph), graph.side, k=k, **cluster_kwargs)
