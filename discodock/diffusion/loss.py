"""Denoising score matching over the pose components, each term normalised by its expected score norm."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch

from discodock.diffusion.components import COMPONENTS, Component


def score_matching_loss(
    pred: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    sigmas: Mapping[str, torch.Tensor],
    components: Sequence[Component] = COMPONENTS,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sum over components of the mean over items of ``||pred - target||^2 / score_norm(sigma)``.

    Args:
        pred, target: ``name -> [items, *item_shape]`` predicted and target scores
            (``perturb_pose`` returns the targets).
        sigmas: ``name -> [items]`` the sigma of each item (``perturb_pose`` returns them).
        components: the components to sum over.

    Returns:
        ``(total, per_component)``. Dividing by the expected squared score norm makes every term 1 on average
        for a model that predicts 0, so the three weigh alike whatever sigma is. A component with no items
        (a ligand without rotatable bonds) contributes an exact 0 that still carries the graph.
    """
    terms = {}
    for comp in components:
        p, y = pred[comp.name], target[comp.name].to(pred[comp.name].dtype)
        if p.shape != y.shape:
            raise ValueError(f"{comp.name}: prediction shape {tuple(p.shape)} != target shape {tuple(y.shape)}")
        if p.shape[0] == 0:
            terms[comp.name] = p.sum() * 0
            continue
        err = (p - y).pow(2).reshape(p.shape[0], -1).sum(-1)
        terms[comp.name] = (err / comp.score_norm(sigmas[comp.name].to(p.dtype))).mean()
    total = sum(terms.values()) if terms else torch.zeros(())
    return total, terms
