"""A batch of ligand poses: atom coordinates plus what a twist needs (rotatable bonds and the atoms each moves)."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from disco_core.latents import segment_mean

from discodock.data import keys


@dataclasses.dataclass(frozen=True)
class Pose:
    """A batch of ``B`` ligand poses, atoms concatenated (PyG style).

    Attributes:
        pos: ``[N, 3]`` atom coordinates (Angstrom), ``N`` = atoms of all poses.
        batch: ``[N]`` long, the pose of each atom (0..B-1, non-decreasing).
        tor_bonds: ``[T, 2]`` long global atom indices ``(u, v)`` of the rotatable bonds; the ``v`` side moves.
        tor_mask: ``[T, N]`` bool, the atoms that move when bond ``t`` twists (block-diagonal across poses).
        tor_batch: ``[T]`` long, the pose of each rotatable bond.
        num_poses: ``B``.
    """

    pos: torch.Tensor
    batch: torch.Tensor
    tor_bonds: torch.Tensor
    tor_mask: torch.Tensor
    tor_batch: torch.Tensor
    num_poses: int

    @classmethod
    def create(
        cls,
        pos: torch.Tensor,
        *,
        batch: torch.Tensor | None = None,
        tor_bonds: torch.Tensor | None = None,
        tor_mask: torch.Tensor | None = None,
        tor_batch: torch.Tensor | None = None,
        num_poses: int | None = None,
    ) -> "Pose":
        """A pose batch with defaults filled in: one pose when ``batch`` is None, no rotatable bonds when
        ``tor_bonds`` is None, ``tor_batch`` from the pose of each bond's first atom."""
        dev = pos.device
        n = pos.shape[0]
        batch = torch.zeros(n, dtype=torch.long, device=dev) if batch is None else batch.to(dev, torch.long)
        if tor_bonds is None:
            tor_bonds = torch.zeros(0, 2, dtype=torch.long, device=dev)
            tor_mask = torch.zeros(0, n, dtype=torch.bool, device=dev)
        tor_bonds = tor_bonds.to(dev, torch.long).reshape(-1, 2)
        tor_mask = tor_mask.to(dev, torch.bool).reshape(tor_bonds.shape[0], n)
        if tor_batch is None:
            tor_batch = batch[tor_bonds[:, 0]]
        if num_poses is None:
            num_poses = int(batch.max()) + 1 if n else 0
        return cls(pos, batch, tor_bonds, tor_mask, tor_batch.to(dev, torch.long), int(num_poses))

    @classmethod
    def from_complex(cls, data) -> "Pose":
        """The ligand pose(s) of a complex graph or a batch of them (keys of ``discodock.data.keys``)."""
        lig = data[keys.LIGAND]
        batch = getattr(lig, "batch", None)
        return cls.create(
            lig[keys.POS],
            batch=batch,
            tor_bonds=lig[keys.TOR_BONDS],
            tor_mask=lig[keys.TOR_MASK],
            num_poses=getattr(data, "num_graphs", None) if batch is not None else 1,
        )

    @classmethod
    def stack(cls, poses: Sequence["Pose"]) -> "Pose":
        """Concatenate pose batches (atoms and bonds re-indexed, masks block-diagonal)."""
        atoms = [p.pos.shape[0] for p in poses]
        atom_off = torch.tensor([0] + atoms[:-1]).cumsum(0).tolist()
        pose_off = torch.tensor([0] + [p.num_poses for p in poses[:-1]]).cumsum(0).tolist()
        mask = torch.block_diag(*[p.tor_mask.to(torch.uint8) for p in poses]).bool()
        mask = mask.reshape(sum(p.tor_bonds.shape[0] for p in poses), sum(atoms))
        return cls(
            pos=torch.cat([p.pos for p in poses]),
            batch=torch.cat([p.batch + o for p, o in zip(poses, pose_off)]),
            tor_bonds=torch.cat([p.tor_bonds + o for p, o in zip(poses, atom_off)]),
            tor_mask=mask,
            tor_batch=torch.cat([p.tor_batch + o for p, o in zip(poses, pose_off)]),
            num_poses=sum(p.num_poses for p in poses),
        )

    def replicate(self, n: int) -> "Pose":
        """``n`` independent copies of this batch (e.g. ``n`` samples of one complex)."""
        return Pose.stack([self] * n)

    def with_pos(self, pos: torch.Tensor) -> "Pose":
        return dataclasses.replace(self, pos=pos)

    @property
    def num_torsions(self) -> int:
        return self.tor_bonds.shape[0]

    def centroids(self) -> torch.Tensor:
        """``[B, 3]`` unweighted centroid of each pose."""
        return segment_mean(self.pos, self.batch, self.num_poses)
