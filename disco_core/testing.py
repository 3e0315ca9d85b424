"""Helpers for tests, reusable by any package built on disco_core.

- ``GaussianDenoiser``: the exact denoiser E[x0 | x0 + sigma n] of Gaussian data, a ground truth for
  losses and samplers.
- ``finite_difference_grad``: central-difference gradient of a scalar function, to check autograd.
- ``random_rotation`` and ``assert_equivariant``: check that a function's vector outputs rotate with its
  vector inputs and its other outputs do not change.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch


class GaussianDenoiser:
    """Exact denoiser for data x0 ~ N(mean, std^2), independently per element.

    D(x, sigma) = mean + std^2 / (std^2 + sigma^2) (x - mean). ``mean`` and ``std`` are floats or
    tensors broadcastable against one example (``x[0]``). ``cond`` and ``latents`` are ignored.
    """

    def __init__(self, *, mean: torch.Tensor | float, std: torch.Tensor | float):
        self.mean = torch.as_tensor(mean)
        self.std = torch.as_tensor(std)
        if bool((self.std <= 0).any()):
            raise ValueError("std must be positive")

    def __call__(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor | float,
        cond: Any = None,
        latents: Any = None,
    ) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sigma.ndim == 1:
            sigma = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        mean = self.mean.to(x)
        var = self.std.to(x) ** 2
        return mean + var / (var + sigma**2) * (x - mean)


def finite_difference_grad(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Central-difference gradient of the scalar ``fn`` at ``x`` (computed in float64, shaped like ``x``)."""
    x = x.detach().double()
    grad = torch.zeros_like(x)
    flat_x, flat_g = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat_x.numel()):
            orig = flat_x[i].item()
            flat_x[i] = orig + eps
            up = float(fn(x))
            flat_x[i] = orig - eps
            down = float(fn(x))
            flat_x[i] = orig
            flat_g[i] = (up - down) / (2 * eps)
    return grad


def random_rotation(
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A uniformly random proper rotation ``[3, 3]`` (from a normalised Gaussian quaternion)."""
    q = torch.randn(4, generator=generator, dtype=torch.float64)
    w, x, y, z = (q / q.norm()).tolist()
    R = torch.tensor(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ],
        dtype=torch.float64,
    )
    return R.to(dtype=dtype or torch.get_default_dtype(), device=device)


def _rotate(v: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    if v.shape[-1] != 3:
        raise ValueError(f"a vector argument must end in a dimension of 3, got shape {tuple(v.shape)}")
    return v @ R.to(v).T


def assert_equivariant(
    fn: Callable[..., Any],
    args: Sequence[Any],
    *,
    vector_args: Sequence[int] = (),
    vector_outputs: Sequence[int] = (),
    rotation: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> float:
    """Check fn(rotated inputs) == rotated fn(inputs) for one rotation; returns the largest error.

    ``args`` are fn's positional arguments; those at indices ``vector_args`` are tensors ``[..., 3]`` that
    rotate (v -> v R^T); the others pass unchanged. fn returns one tensor or a tuple/list of tensors;
    outputs at indices ``vector_outputs`` must rotate, every other output must stay invariant. (A single
    tensor output is index 0.) ``rotation`` defaults to ``random_rotation(generator)``.
    Raises ``AssertionError`` naming the offending output.
    """
    R = random_rotation(generator) if rotation is None else rotation
    rotated_args = [_rotate(a, R) if i in set(vector_args) else a for i, a in enumerate(args)]

    def as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    out = as_tuple(fn(*args))
    out_rot = as_tuple(fn(*rotated_args))
    if len(out) != len(out_rot):
        raise AssertionError("fn returned a different number of outputs after rotation")
    worst = 0.0
    for i, (o, o_rot) in enumerate(zip(out, out_rot)):
        expected = _rotate(o, R) if i in set(vector_outputs) else o
        err = float((o_rot - expected).abs().max()) if o.numel() else 0.0
        worst = max(worst, err)
        if not torch.allclose(o_rot, expected, atol=atol, rtol=rtol):
            kind = "equivariant" if i in set(vector_outputs) else "invariant"
            raise AssertionError(f"output {i} is not {kind}: max abs error {err:.3g}")
    return worst
