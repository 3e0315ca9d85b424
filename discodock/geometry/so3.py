"""The isotropic Gaussian on SO(3), IGSO(3): density, sampling, score and expected score norm.

IGSO(3) with scale ``sigma`` (radians) is the heat kernel on SO(3) at time ``sigma^2 / 2``: for small sigma the
rotation vector is close to N(0, sigma^2 I_3), for large sigma the rotation is close to Haar-uniform. Its
density with respect to the normalised Haar measure depends only on the rotation angle ``omega`` in [0, pi]::

    f(omega; sigma) = sum_{l >= 0} (2l + 1) exp(-l (l + 1) sigma^2 / 2) sin((l + 1/2) omega) / sin(omega / 2)

and the angle itself has density ``f(omega) (1 - cos omega) / pi`` on [0, pi]. The series needs ~10 / sigma
terms, so for sigma < 1 we evaluate its Poisson-summed dual instead (a sum of Gaussians in ``omega - 2 pi k``,
9 terms suffice), and for sigma >= 1 the series rewritten as a cosine series (25 terms). Both are exact to
float64 rounding in their ranges; the density, its log and the score are computed in closed form.

Only the inverse CDF of ``omega`` (for sampling) and the expected score norm need quadrature: they are
tabulated over log(sigma) in [1e-3, 4] on first use, cached (see ``discodock.geometry._tables``) and
interpolated in log(sigma). Below the table the small-sigma (Gaussian) limit is used; above it, sigma = 4
(within 1e-7 of uniform).
"""

from __future__ import annotations

import math

import torch

from discodock.geometry import _tables
from discodock.geometry._random import rand, randn

SIGMA_LO, SIGMA_HI, N_SIGMA = 1e-3, 4.0, 256
N_OMEGA = 2048  # quadrature points per sigma, on [0, min(pi, 14 sigma)]
N_LEVELS = 2049  # probability levels of the tabulated inverse CDF
_DUAL_BELOW = 1.0  # sigma below which the dual (Gaussian-sum) form is used
_K = 4  # dual terms k = -K..K (enough to sigma ~ 2.5; used below 1)
_L = 24  # series terms l = 0..L
_TINY_OMEGA = 1e-12  # floor for log-density evaluation (the limit omega -> 0 is finite)
_SMALL_OMEGA = 1e-4  # below this, score / omega is taken at this angle (error O(omega^2))


def _as_float(x, like: torch.Tensor | None = None) -> torch.Tensor:
    x = torch.as_tensor(x, device=None if like is None else like.device)
    if not x.is_floating_point():
        x = x.to(like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype())
    return x


def _dual(omega: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log f, d log f / d omega) from the Poisson-summed form; float64 1-D inputs, sigma < ~3."""
    eps = sigma * sigma / 2
    k = torch.arange(-_K, _K + 1, dtype=omega.dtype, device=omega.device)
    d = omega[:, None] - 2 * math.pi * k  # [n, 2K+1]
    a = -d * d / (4 * eps[:, None])
    m = a.max(-1, keepdim=True).values
    w = (a - m).exp()  # factored so that nothing underflows at tiny sigma
    sign = 1 - 2 * (k.abs() % 2)
    S = (sign * d * w).sum(-1)
    dS = (sign * (1 - d * d / (2 * eps[:, None])) * w).sum(-1)
    half = omega / 2
    log_f = (
        eps / 4 + 0.5 * math.log(math.pi) - 1.5 * eps.log() - math.log(2) - half.sin().log() + m[:, 0] + S.log()
    )
    return log_f, dS / S - 0.5 / half.tan()


def _series(omega: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log f, d log f / d omega) from the series as cosines: f = c_0 + sum_j c_j cos(j omega); sigma >= ~0.7."""
    l = torch.arange(_L + 1, dtype=omega.dtype, device=omega.device)
    e = (2 * l + 1) * torch.exp(-l * (l + 1) * (sigma * sigma / 2)[:, None])  # [n, L+1]
    tail = e.flip(-1).cumsum(-1).flip(-1)  # sum_{l >= j}
    c = torch.cat([tail[:, :1], 2 * tail[:, 1:]], -1)
    jw = l * omega[:, None]
    f = (c * jw.cos()).sum(-1)
    df = -(c * l * jw.sin()).sum(-1)
    return f.log(), df / f


def _evaluate(omega: torch.Tensor, sigma: torch.Tensor, *, floor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(log f, d log f / d omega) at max(omega, floor), float64, broadcast shape."""
    omega, sigma = torch.broadcast_tensors(omega.double(), sigma.double())
    shape = omega.shape
    om, sg = omega.reshape(-1).clamp(floor, math.pi), sigma.reshape(-1)
    log_f, dlog_f = torch.empty_like(om), torch.empty_like(om)
    small = sg < _DUAL_BELOW
    for sel, fn in ((small, _dual), (~small, _series)):
        if bool(sel.any()):
            log_f[sel], dlog_f[sel] = fn(om[sel], sg[sel])
    return log_f.reshape(shape), dlog_f.reshape(shape)


def _score_over_omega(omega: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """(d log f / d omega) / omega, float64; finite at omega = 0."""
    om = omega.double().clamp_min(_SMALL_OMEGA)
    return _evaluate(om, sigma, floor=_SMALL_OMEGA)[1] / om


def log_density(omega: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """log f(omega; sigma): log-density of IGSO(3) w.r.t. the normalised Haar measure on SO(3).

    ``omega`` (rotation angle, radians, in [0, pi]) and ``sigma`` broadcast together.
    """
    omega = _as_float(omega)
    return _evaluate(omega, _as_float(sigma, omega), floor=_TINY_OMEGA)[0].to(omega.dtype)


def angle_density(omega: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Density of the rotation angle omega on [0, pi]: f(omega; sigma) (1 - cos omega) / pi."""
    omega = _as_float(omega)
    log_f = _evaluate(omega, _as_float(sigma, omega), floor=_TINY_OMEGA)[0]
    haar = 2 * (omega.double() / 2).sin() ** 2 / math.pi  # (1 - cos w) / pi without cancellation
    return (log_f.exp() * haar).to(omega.dtype)


def angle_score(omega: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """d log f / d omega (negative: the density falls with the angle), 0 at omega = 0."""
    omega = _as_float(omega)
    return (omega.double() * _score_over_omega(omega, _as_float(sigma, omega))).to(omega.dtype)


def score(rotvec: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Score of IGSO(3) at rotation vector ``rotvec [..., 3]`` for scale ``sigma [...]``: the gradient of
    log f in the Lie algebra, (d log f / d omega) * axis. Equal to -rotvec / sigma^2 for small sigma.

    It is the gradient with respect to ``xi`` of ``log f(angle(exp(xi) R))`` at ``xi = 0``, ``R = exp(rotvec)``:
    a rotation by ``+h * score`` (applied on the left) raises the density.
    """
    rotvec = _as_float(rotvec)
    v = rotvec.double()
    omega = v.norm(dim=-1)
    # a vector longer than pi is the rotation by 2 pi - |v| about -axis: use that canonical angle
    wrapped = omega - 2 * math.pi * torch.ceil((omega - math.pi) / (2 * math.pi))  # in (-pi, pi]
    v = v * torch.where(omega > math.pi, wrapped / omega.clamp_min(1e-300), torch.ones_like(omega))[..., None]
    return (v * _score_over_omega(v.norm(dim=-1), _as_float(sigma, rotvec))[..., None]).to(rotvec.dtype)


# ----------------------------------------------------------------------------------------------- tables


def _build_table() -> dict[str, torch.Tensor]:
    sig = _tables.log_sigma_grid(SIGMA_LO, SIGMA_HI, N_SIGMA)
    levels = torch.linspace(0, 1, N_LEVELS, dtype=torch.float64)
    frac = torch.linspace(0, 1, N_OMEGA, dtype=torch.float64)
    quant, norm, mass = [], [], []
    for rows in sig.split(16):  # chunks keep the (rows x omega x terms) intermediates small
        om = rows.clamp(max=math.pi / 14)[:, None] * 14 * frac  # [r, M] on [0, min(pi, 14 sigma)]
        sg = rows[:, None].expand_as(om)
        log_f, dlog_f = _evaluate(om, sg, floor=_TINY_OMEGA)
        pdf = log_f.exp() * 2 * (om / 2).sin() ** 2 / math.pi
        cdf = _tables.cumulative_trapezoid(pdf, om)
        total = cdf[:, -1]
        s2 = torch.where(om < _SMALL_OMEGA, 0.0, dlog_f) ** 2  # pdf ~ omega^2 kills the first points anyway
        norm.append(_tables.cumulative_trapezoid(pdf * s2, om)[:, -1] / total)
        quant.append(_tables.invert_cdf(cdf / total[:, None], om, levels.expand(len(rows), -1)) / rows[:, None])
        mass.append(total)
    return {
        "sigma": sig,
        "quantile_over_sigma": torch.cat(quant),  # [N_SIGMA, N_LEVELS] omega quantiles / sigma
        "score_norm": torch.cat(norm),  # [N_SIGMA] E ||score||^2
        "mass": torch.cat(mass),  # [N_SIGMA] quadrature of the angle density (should be 1)
    }


def table() -> dict[str, torch.Tensor]:
    """The IGSO(3) tables (built on first call, then cached in memory and on disk)."""
    params = {
        "version": 1, "sigma_lo": SIGMA_LO, "sigma_hi": SIGMA_HI, "n_sigma": N_SIGMA,
        "n_omega": N_OMEGA, "n_levels": N_LEVELS, "K": _K, "L": _L, "dual_below": _DUAL_BELOW,
    }  # fmt: skip
    return _tables.cached_table("igso3", params, _build_table)


def sample_angle(sigma: torch.Tensor | float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotation angles omega in [0, pi] drawn from IGSO(3) at ``sigma`` (one per element of ``sigma``), by the
    tabulated inverse CDF, interpolated in the probability level and in log(sigma)."""
    sigma = _as_float(sigma)
    u = rand(*sigma.shape, generator=generator, dtype=torch.float64, device=sigma.device)
    q = table()["quantile_over_sigma"].to(sigma.device)
    i0, fs = _tables.log_sigma_position(sigma, SIGMA_LO, SIGMA_HI, N_SIGMA)
    x = u * (N_LEVELS - 1)
    j0 = x.floor().long().clamp(max=N_LEVELS - 2)
    fu = x - j0

    def at(i):
        return q[i, j0] * (1 - fu) + q[i, j0 + 1] * fu

    # omega / sigma is interpolated: it is exactly sigma-independent in the small-sigma limit
    omega = (at(i0) * (1 - fs) + at(i0 + 1) * fs) * sigma.double().clamp(max=SIGMA_HI)
    return omega.clamp(0, math.pi).to(sigma.dtype)


def sample(sigma: torch.Tensor | float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotation vectors ``[..., 3]`` drawn from IGSO(3), one for each element of ``sigma [...]``: the angle from
    :func:`sample_angle`, the axis uniform on the sphere."""
    sigma = _as_float(sigma)
    omega = sample_angle(sigma, generator=generator)
    axis = randn(*sigma.shape, 3, generator=generator, dtype=sigma.dtype, device=sigma.device)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    return axis * omega[..., None]


def score_norm(sigma: torch.Tensor | float) -> torch.Tensor:
    """Expected SQUARED norm of the score, E ||score(R; sigma)||^2 under R ~ IGSO(3)(sigma) (about 3 / sigma^2
    for small sigma). Interpolated in log-log from the table."""
    sigma = _as_float(sigma)
    log_norm = table()["score_norm"].to(sigma.device).log()
    i0, fs = _tables.log_sigma_position(sigma, SIGMA_LO, SIGMA_HI, N_SIGMA)
    out = log_norm[i0] * (1 - fs) + log_norm[i0 + 1] * fs
    below = sigma.double() < SIGMA_LO
    out = torch.where(below, out - 2 * (sigma.double() / SIGMA_LO).log(), out)  # 1 / sigma^2 limit
    return out.exp().to(sigma.dtype)
