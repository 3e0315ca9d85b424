"""What a learned ranking sees of each pose in a pool of poses of one ligand in one site.

Vina's score ranks Vina's own best-of-9 first in only ~70% of the complexes where it has a pose within 2 A
(PoseBusters). A ranking can use what the score leaves out: how the pool agrees (poses that many searches
reach are more often right), how the ligand's atoms meet the receptor's (element-pair contacts, as RF-Score
counts them; polar contacts; clashes; burial), and how the score compares with the rest of the pool. All
features are per pose, computed from heavy-atom coordinates (Angstrom) and element symbols only, so they
apply to poses from any source (diffusion samples, Vina's search, a null model).
"""

from __future__ import annotations

import numpy as np
import torch

LIGAND_ELEMENTS = ("C", "N", "O", "S")  # then one "other" slot: halogens, P, B, metals
RECEPTOR_ELEMENTS = ("C", "N", "O", "S")  # then one "other" slot
CONTACT_CUTOFF = 4.0  # Angstrom: element-pair contacts
POLAR_CUTOFF = 3.3  # Angstrom: N/O to N/O, a hydrogen-bond distance
CLASH_CUTOFF = 2.2  # Angstrom: heavy atoms this close overlap
BURIAL_CUTOFF = 8.0  # Angstrom: receptor atoms counted around each ligand atom
EXPOSED_BELOW = 25  # receptor atoms within BURIAL_CUTOFF: fewer and the ligand atom is at the surface
AGREE_RMSD = (2.0, 4.0)  # Angstrom: two poses of the pool agree within these
REACH = 12.0  # Angstrom beyond the pool's extent: receptor atoms further away are never counted

FEATURE_NAMES = (
    ["vina_score", "vina_minus_best", "vina_rank_fraction", "vina_per_heavy_atom"]
    + [f"agree_{r:g}A" for r in AGREE_RMSD] + ["rmsd_to_vina_best", "median_rmsd_to_pool"]
    + [f"contacts_{a}_{b}" for a in LIGAND_ELEMENTS + ("X",) for b in RECEPTOR_ELEMENTS + ("X",)]
    + ["polar_contacts", "clashes", "burial", "exposed_fraction", "contacts_6A", "heavy_atoms", "centroid_spread"]
)


def _element_slot(elements, table) -> torch.Tensor:
    index = {e: i for i, e in enumerate(table)}
    return torch.tensor([index.get(e.upper(), len(table)) for e in elements], dtype=torch.long)


def pose_features(positions: torch.Tensor, ligand_elements: list[str], receptor_pos: np.ndarray | torch.Tensor,
                  receptor_elements: list[str], vina_scores) -> torch.Tensor:
    """``[P, len(FEATURE_NAMES)]`` float32 features of the ``P`` poses ``positions`` [P, N, 3] (heavy atoms,
    Angstrom, one atom order for the pool) of a ligand with ``ligand_elements`` in a receptor with heavy atoms
    ``receptor_pos`` [A, 3] / ``receptor_elements``; ``vina_scores`` [P] (kcal/mol; None or NaN where Vina did not
    score, e.g. untyped elements: the pool's worst then stands in).

    Counts are per ligand heavy atom, so ligands of any size share a scale."""
    pos = torch.as_tensor(positions, dtype=torch.float32)
    P, N, _ = pos.shape
    if N != len(ligand_elements):
        raise ValueError(f"{N} atoms in the poses, {len(ligand_elements)} ligand elements")
    scores = torch.tensor([np.nan if s is None else float(s) for s in vina_scores], dtype=torch.float32)
    if scores.shape[0] != P:
        raise ValueError(f"{scores.shape[0]} Vina scores for {P} poses")
    finite = torch.isfinite(scores)
    scores = torch.where(finite, scores, scores[finite].max() if finite.any() else torch.tensor(0.0))
    best = int(scores.argmin())
    rank = scores.argsort().argsort().float() / max(P - 1, 1)

    # Agreement within the pool: atom-order RMSD between poses (the pool shares one atom order).
    pair = (pos.unsqueeze(1) - pos.unsqueeze(0)).square().sum(-1).mean(-1).sqrt()  # [P, P]
    others = max(P - 1, 1)
    agree = [((pair < r).sum(1) - 1).float() / others for r in AGREE_RMSD]
    off_diagonal = pair + torch.diag(torch.full((P,), float("nan")))
    median_to_pool = off_diagonal.nanmedian(dim=1).values if P > 1 else torch.zeros(P)

    # Receptor atoms near the pool only: the distance matrix stays small for a whole-protein file.
    rec = torch.as_tensor(np.asarray(receptor_pos), dtype=torch.float32)
    flat = pos.reshape(-1, 3)
    near = ((rec - flat.mean(0)).norm(dim=1) <= (flat - flat.mean(0)).norm(dim=1).max() + REACH)
    rec, rec_slot = rec[near], _element_slot(receptor_elements, RECEPTOR_ELEMENTS)[near]
    lig_slot = _element_slot(ligand_elements, LIGAND_ELEMENTS)
    d = torch.cdist(pos, rec.unsqueeze(0).expand(P, -1, -1)) if rec.shape[0] else pos.new_zeros(P, N, 0)
    n_lig, n_rec = len(LIGAND_ELEMENTS) + 1, len(RECEPTOR_ELEMENTS) + 1
    close = (d < CONTACT_CUTOFF).float()  # [P, N, A]
    lig_onehot = torch.nn.functional.one_hot(lig_slot, n_lig).float()  # [N, L]
    rec_onehot = torch.nn.functional.one_hot(rec_slot, n_rec).float()  # [A, R]
    contacts = torch.einsum("nl,pna,ar->plr", lig_onehot, close, rec_onehot).reshape(P, -1) / N
    lig_polar = torch.tensor([e.upper() in ("N", "O") for e in ligand_elements], dtype=torch.float32)
    rec_polar = torch.isin(rec_slot, torch.tensor([1, 2])).float()
    polar = torch.einsum("n,pna,a->p", lig_polar, (d < POLAR_CUTOFF).float(), rec_polar) / N
    clashes = (d < CLASH_CUTOFF).float().sum((1, 2)) / N
    around = (d < BURIAL_CUTOFF).float().sum(2)  # [P, N]
    burial = around.mean(1) / 100.0
    exposed = (around < EXPOSED_BELOW).float().mean(1)
    contacts_6 = (d < 6.0).float().sum((1, 2)) / N / 10.0
    spread = (pos - pos.mean(1, keepdim=True)).norm(dim=-1).mean(1) / 10.0

    columns = [scores, scores - scores[best], rank, scores / N, *agree, pair[:, best], median_to_pool,
               *contacts.T, polar, clashes, burial, exposed, contacts_6, torch.full((P,), N / 30.0), spread]
    return torch.stack(columns, dim=1).float()
