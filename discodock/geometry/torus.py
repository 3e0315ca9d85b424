"""The wrapped normal distribution on the circle (one torsion angle): density, score, sampling, score norm.

``p(x; sigma) = sum_k N(x + 2 pi k; 0, sigma^2)`` for x in (-pi, pi]. For sigma < 1.5 the sum over k (17 terms,
in log-sum-exp form so nothing underflows at tiny sigma) is used; for larger sigma its Fourier series
``(1 + 2 sum_n exp(-n^2 sigma^2 / 2) cos(n x)) / (2 pi)`` (20 terms). Both are exact to float64 rounding in
their ranges. The expected squared score needs quadrature: it is tabulated over log(sigma) on first use and
cached like the IGSO(3) tables (see ``discodock.geometry._tables``).
"""

from __future__ import annotations

import math

import torch

from discodock.geometry import _tables
from discodock.geometry._random import randn

SIGMA_LO, SIGMA_HI, N_SIGMA = 1e-3, 2 * math.pi, 256
N_X = 2049  # quadrature points per sigma, on [0, min(pi, 14 sigma)] (the density is even)
_WRAPPED_BELOW = 1.5
_K = 8  # wrapped terms k = -K..K
_N = 20  # Fourier terms


def _as_float(x, like: torch.Tensor | None = None) -> torch.Tensor:
    x = torch.as_tensor(x, device=None if like is None else like.device)
    if not x.is_floating_point():
        x = x.to(like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype())
    return x


def wrap(x: torch.Tensor) -> torch.Tensor:
    """Angles mapped to (-pi, pi]."""
    return x - 2 * math.pi * torch.ceil((x - math.pi) / (2 * math.pi))


def _wrapped(x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    k = torch.arange(-_K, _K + 1, dtype=x.dtype, device=x.device)
    d = x[:, None] + 2 * math.pi * k
    a = -d * d / (2 * (sigma * sigma)[:, None])
    log_p = torch.logsumexp(a, -1) - sigma.log() - 0.5 * math.log(2 * math.pi)
    w = torch.softmax(a, -1)
    return log_p, -(w * d).sum(-1) / (sigma * sigma)


def _fourier(x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n = torch.arange(1, _N + 1, dtype=x.dtype, device=x.device)
    c = 2 * torch.exp(-n * n * (sigma * sigma / 2)[:, None])
    nx = n * x[:, None]
    p = 1 + (c * nx.cos()).sum(-1)
    dp = -(c * n * nx.sin()).sum(-1)
    return p.log() - math.log(2 * math.pi), dp / p


def _evaluate(x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p, d log p / dx) in float64 at wrapped x, broadcast shape."""
    x, sigma = torch.broadcast_tensors(wrap(x.double()), sigma.double())
    shape = x.shape
    xf, sf = x.reshape(-1), sigma.reshape(-1)
    log_p, score_ = torch.empty_like(xf), torch.empty_like(xf)
    small = sf < _WRAPPED_BELOW
    for sel, fn in ((small, _wrapped), (~small, _fourier)):
        if bool(sel.any()):
            log_p[sel], score_[sel] = fn(xf[sel], sf[sel])
    return log_p.reshape(shape), score_.reshape(shape)


def log_density(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """log p(x; sigma) of the wrapped normal (density on the circle, total mass 1 over one period)."""
    x = _as_float(x)
    return _evaluate(x, _as_float(sigma, x))[0].to(x.dtype)


def score(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """d log p(x; sigma) / dx: points back toward 0 (mod 2 pi); about -x / sigma^2 for small sigma."""
    x = _as_float(x)
    return _evaluate(x, _as_float(sigma, x))[1].to(x.dtype)


def sample(sigma: torch.Tensor | float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Angles in (-pi, pi] from the wrapped normal, one per element of ``sigma``."""
    sigma = _as_float(sigma)
    z = randn(*sigma.shape, generator=generator, dtype=sigma.dtype, device=sigma.device)
    return wrap(sigma * z)


def _build_table() -> dict[str, torch.Tensor]:
    sig = _tables.log_sigma_grid(SIGMA_LO, SIGMA_HI, N_SIGMA)
    frac = torch.linspace(0, 1, N_X, dtype=torch.float64)
    norm, mass = [], []
    for rows in sig.split(32):
        x = rows.clamp(max=math.pi / 14)[:, None] * 14 * frac
        log_p, s = _evaluate(x, rows[:, None].expand_as(x))
        p = log_p.exp()
        total = _tables.cumulative_trapezoid(p, x)[:, -1]
        norm.append(_tables.cumulative_trapezoid(p * s * s, x)[:, -1] / total)
        mass.append(2 * total)
    return {"sigma": sig, "score_norm": torch.cat(norm), "mass": torch.cat(mass)}


def table() -> dict[str, torch.Tensor]:
    """The wrapped-normal table (built on first call, then cached in memory and on disk)."""
    params = {
        "version": 2, "sigma_lo": SIGMA_LO, "sigma_hi": SIGMA_HI, "n_sigma": N_SIGMA, "n_x": N_X,
        "K": _K, "N": _N, "wrapped_below": _WRAPPED_BELOW,
    }  # fmt: skip
    return _tables.cached_table("wrapped_normal", params, _build_table)


def score_norm(sigma: torch.Tensor | float) -> torch.Tensor:
    """Expected SQUARED score, E[score(x; sigma)^2] under x ~ wrapped normal(sigma) (about 1 / sigma^2 for small
    sigma). Interpolated in log-log from the table; 1 / sigma^2 below it, the last value above it."""
    sigma = _as_float(sigma)
    log_norm = table()["score_norm"].to(sigma.device).log()
    i0, fs = _tables.log_sigma_position(sigma, SIGMA_LO, SIGMA_HI, N_SIGMA)
    out = log_norm[i0] * (1 - fs) + log_norm[i0 + 1] * fs
    out = torch.where(sigma.double() < SIGMA_LO, out - 2 * (sigma.double() / SIGMA_LO).log(), out)
    return out.exp().to(sigma.dtype)
