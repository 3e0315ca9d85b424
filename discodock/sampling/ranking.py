"""Ranking sampled poses: by the confidence model, by Vina score, or by the learned pose ranking
(``learned``: :mod:`discodock.scoring.pose_ranker`, Vina's score read together with the pool's agreement and the
poses' contacts), after an optional refinement: Vina's local optimisation (``vina``), or a Monte Carlo search on
Vina's energy from each pose followed by it (``search``)."""

from __future__ import annotations

import torch
from rdkit import Chem
from rdkit.Geometry import Point3D

from discodock.sampling.output import RankedPose
from discodock.scoring.pdbqt import vina_untyped_elements
from discodock.scoring.vina import get_receptor


def with_coords(mol: Chem.Mol, pos: torch.Tensor) -> Chem.Mol:
    """A copy of ``mol`` whose only conformer has the coordinates ``pos`` [N, 3] (Angstrom)."""
    out = Chem.Mol(mol)
    out.RemoveAllConformers()
    conf = Chem.Conformer(out.GetNumAtoms())
    for i, (x, y, z) in enumerate(pos.detach().cpu().double().tolist()):
        conf.SetAtomPosition(i, Point3D(x, y, z))
    conf.Set3D(True)
    out.AddConformer(conf, assignId=True)
    return out


def rank_poses(data, mol: Chem.Mol, positions: torch.Tensor, *, confidence, protein_path, method: str, refine: str,
               info: dict, device: torch.device, drop_het: frozenset = frozenset(),
               vina_receptor=None, search: dict | None = None, ranker=None, receptor_atoms=None
               ) -> list[RankedPose]:
    """Score every pose (``confidence``: the checkpoint's confidence model or None; or Vina), optionally refine
    with Vina, best first. ``info`` (results.json) gets the method actually used and any warning: a
    checkpoint without a confidence model ranks by Vina, and a ligand Vina cannot type (boron) is neither
    refined nor scored by Vina. ``drop_het``: hetero groups left out of Vina's receptor (``--keep-het``); ``vina_receptor``: one prepared
    already (a screen reuses one per receptor), else it is prepared here. ``search``: for ``refine="search"``, the
    keyword arguments of :func:`~discodock.sampling.seeded_search.search_from_samples` beyond the poses and the
    receptor (site box, rotatable bonds, iterations, chains, seed). ``method="learned"`` needs ``ranker`` (a
    :class:`~discodock.scoring.pose_ranker.PoseRanker`) and ``receptor_atoms`` (the receptor's
    :class:`~discodock.data.receptor_atoms.ResidueAtoms`); its probability goes into ``confidence``."""
    untyped = vina_untyped_elements(mol)
    if method == "confidence" and confidence is None:
        method = "vina"
        if not untyped:  # else the warning below says what was done instead
            info.setdefault("warnings", []).append("checkpoint has no confidence model; ranked by Vina score")
    uses_vina = method == "vina" or refine in ("vina", "search")
    if method == "learned" and (ranker is None or receptor_atoms is None):
        raise ValueError("the learned ranking needs the ranker and the receptor's atoms")
    if untyped and uses_vina:  # e.g. a boronic acid: still dock it, without Vina
        uses_vina, refine = False, "none"
        if method != "learned":  # which reads the poses' contacts and agreement without Vina's score
            method = "confidence" if confidence is not None else "none"
        info.setdefault("warnings", []).append(
            f"AutoDock Vina has no atom type for {', '.join(untyped)}: poses not refined by Vina, "
            + {"none": "left in sample order (no confidence model)", "confidence": "ranked by confidence",
               "learned": "ranked by the learned ranking without Vina's score"}[method])
    receptor = (vina_receptor or get_receptor(protein_path, drop_residues=drop_het)) if uses_vina else None
    if refine == "search":
        from discodock.sampling.seeded_search import search_from_samples

        positions, _, kept = search_from_samples(with_coords(mol, positions[0]), positions, receptor=receptor,
                                                 **search)
        start_index = kept.tolist()
    else:
        start_index = list(range(len(positions)))
    poses = [RankedPose(mol=with_coords(mol, p), sample_index=i) for i, p in zip(start_index, positions)]
    if uses_vina:
        if refine in ("vina", "search"):  # after a search: Vina's own optimisation gives its exact score
            for p, refined in zip(poses, receptor.local_optimize_poses([p.mol for p in poses])):
                p.mol, p.vina_score = refined.mol, refined.score
            positions = torch.stack([torch.tensor(p.mol.GetConformer().GetPositions(), dtype=torch.float32)
                                     for p in poses])
        else:
            for p, score in zip(poses, receptor.score_poses([p.mol for p in poses])):
                p.vina_score = score
    if method == "confidence":
        conf = confidence.predict(data, positions.to(device))
        for p, c in zip(poses, conf.tolist()):
            p.confidence = float(c)
        poses.sort(key=lambda p: -p.confidence)
    elif method == "learned":
        probs = ranker.score_pool(positions, [a.GetSymbol() for a in mol.GetAtoms()], receptor_atoms.pos,
                                  receptor_atoms.elements, [p.vina_score for p in poses])
        for p, c in zip(poses, probs.tolist()):
            p.confidence = float(c)
        poses.sort(key=lambda p: -p.confidence)
    elif method == "vina":
        poses.sort(key=lambda p: p.vina_score if p.vina_score is not None else float("inf"))
    info["ranked_by"], info["refine"] = method, refine
    return poses

