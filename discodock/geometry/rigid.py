"""Rigid motions in 3-D: axis-angle <-> rotation matrix, Kabsch alignment, uniform random rotations.

Conventions used throughout discodock:
- a rotation vector ``v`` (axis-angle) is ``omega * axis`` with ``omega = |v|`` in radians and the rotation
  right-handed about ``axis``;
- a rotation acts on column vectors, ``x' = R @ x``; for row-stacked points ``P [N, 3]`` that is
  ``P @ R.T``;
- everything is batched over leading dimensions and follows the dtype and device of its inputs.
"""

from __future__ import annotations

import torch

from discodock.geometry._random import randn

_SMALL_ANGLE = 1e-4  # below this angle (rad) the Taylor series are used (error << float32 eps)


_HAT_INDEX = ((0, 2, 1), (2, 0, 0), (1, 0, 0))  # [v]_x = v[_HAT_INDEX] * _HAT_SIGN
_HAT_SIGN = ((0.0, -1.0, 1.0), (1.0, 0.0, -1.0), (-1.0, 1.0, 0.0))


def hat(v: torch.Tensor) -> torch.Tensor:
    """The skew-symmetric matrix ``[v]_x`` with ``hat(v) @ x == cross(v, x)``; ``[..., 3] -> [..., 3, 3]``.

    One gather and one product (a search builds these for every torsion of every chain per step)."""
    index = torch.tensor(_HAT_INDEX, device=v.device)
    return v[..., index] * torch.tensor(_HAT_SIGN, dtype=v.dtype, device=v.device)


def axis_angle_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``exp([v]_x)`` (Rodrigues) for rotation vectors ``v [..., 3]`` -> ``[..., 3, 3]``.

    Stable at and near ``v = 0`` (Taylor expansion of the two coefficients) and differentiable there.
    """
    theta2 = (v * v).sum(-1)
    small = theta2 < _SMALL_ANGLE**2
    # Evaluate the exact forms on a safe angle so neither branch produces NaN gradients.
    theta = torch.where(small, torch.ones_like(theta2), theta2).sqrt()
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)  # sin(t)/t
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / (theta * theta))  # (1-cos t)/t^2
    K = hat(v)
    eye = torch.eye(3, dtype=v.dtype, device=v.device).expand(K.shape)
    return eye + a[..., None, None] * K + b[..., None, None] * (K @ K)


def matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(w, x, y, z)`` with ``w >= 0`` for rotation matrices ``[..., 3, 3]`` -> ``[..., 4]``.

    Uses the largest of the four candidate denominators, so it is accurate for every angle including pi.
    """
    m = R
    r00, r11, r22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4 q_i^2 for each component (clamped: rounding can make them slightly negative)
    q2 = torch.stack(
        [1 + r00 + r11 + r22, 1 + r00 - r11 - r22, 1 - r00 + r11 - r22, 1 - r00 - r11 + r22], -1
    ).clamp_min(0)
    # Candidate quaternions, each scaled by 4 q_i, one per choice of the largest component.
    a21, a02, a10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s10, s20, s21 = m[..., 1, 0] + m[..., 0, 1], m[..., 2, 0] + m[..., 0, 2], m[..., 2, 1] + m[..., 1, 2]
    cands = torch.stack(
        [
            torch.stack([q2[..., 0], a21, a02, a10], -1),
            torch.stack([a21, q2[..., 1], s10, s20], -1),
            torch.stack([a02, s10, q2[..., 2], s21], -1),
            torch.stack([a10, s20, s21, q2[..., 3]], -1),
        ],
        -2,
    )
    best = q2.argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices for (not necessarily unit) quaternions ``(w, x, y, z)`` ``[..., 4]`` -> ``[..., 3, 3]``."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation vectors ``[..., 3]`` (angle in [0, pi]) for rotation matrices ``[..., 3, 3]``.

    Inverse of :func:`axis_angle_to_matrix` for angles below pi; at exactly pi either of the two equivalent
    vectors may be returned.
    """
    q = matrix_to_quaternion(R)
    w, xyz = q[..., 0], q[..., 1:]
    s = xyz.norm(dim=-1)
    angle = 2 * torch.atan2(s, w)
    small = s < _SMALL_ANGLE
    # angle / sin(angle / 2) = 2 (1 + s^2 / 6 + O(s^4)) for small s = sin(angle / 2) (w ~ 1 there)
    factor = torch.where(small, 2 * (1 + s * s / 6), angle / torch.where(small, torch.ones_like(s), s))
    return xyz * factor[..., None]


def kabsch(
    P: torch.Tensor, Q: torch.Tensor, weights: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The proper rigid motion that best maps points ``P`` onto ``Q`` (least squares).

    Args:
        P, Q: ``[..., N, 3]`` corresponding points (Angstrom), batched over leading dimensions.
        weights: optional ``[..., N]`` non-negative point weights (default: all equal).

    Returns:
        ``(R [..., 3, 3], t [..., 3])`` with ``det R = +1`` minimising ``sum_i w_i |R @ P_i + t - Q_i|^2``,
        i.e. ``P @ R.mT + t[..., None, :]`` is ``P`` aligned onto ``Q``.
    """
    if P.shape != Q.shape or P.shape[-1] != 3:
        raise ValueError(
            f"kabsch needs two [..., N, 3] tensors of the same shape, got {tuple(P.shape)}, {tuple(Q.shape)}"
        )
    if weights is None:
        weights = torch.ones(P.shape[:-1], dtype=P.dtype, device=P.device)
    w = (weights / weights.sum(-1, keepdim=True))[..., None]
    p0 = (w * P).sum(-2)
    q0 = (w * Q).sum(-2)
    H = ((P - p0[..., None, :]) * w).mT @ (Q - q0[..., None, :])  # [..., 3, 3] cross-covariance
    # SVD in float64: near-degenerate point sets (e.g. collinear) make float32 SVD lose the sign of det.
    U, _, Vh = torch.linalg.svd(H.double())
    d = torch.sign(torch.linalg.det(Vh.mT @ U.mT))
    d = torch.where(d == 0, torch.ones_like(d), d)
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    R = (Vh.mT @ D @ U.mT).to(P.dtype)
    t = q0 - (R @ p0[..., None]).squeeze(-1)
    return R, t


def random_rotations(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` rotation matrices ``[n, 3, 3]`` drawn uniformly (Haar measure) on SO(3).

    A normalised 4-D standard normal vector is uniform on the unit quaternions, which double-cover SO(3)
    with the Haar measure.
    """
    q = randn(n, 4, generator=generator, dtype=dtype, device=device)
    return quaternion_to_matrix(q)


def random_rotation_vectors(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` Haar-uniform rotations as rotation vectors ``[n, 3]`` (angle in [0, pi])."""
    return matrix_to_axis_angle(random_rotations(n, generator=generator, dtype=dtype, device=device))
