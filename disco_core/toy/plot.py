"""Figure of the toy experiment: samples against data, and a few ODE paths, for each variant."""

from __future__ import annotations

from pathlib import Path

import torch


def plot_toy(
    path: str | Path,
    *,
    data: torch.Tensor,
    samples: dict[str, torch.Tensor],
    trajectories: dict[str, torch.Tensor],
    codes: torch.Tensor | None = None,
    titles: dict[str, str] | None = None,
    lim: float = 5.0,
) -> None:
    """Write a 2 x V figure (V variants): top row samples over data, bottom row ODE paths [S, n, 2].

    ``codes`` colours the paths of the variant named ``"DisCo"`` by their latent code.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(samples)
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 8.4), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for col, name in enumerate(names):
        ax = axes[0, col]
        ax.scatter(data[:, 0], data[:, 1], s=2, c="0.75", label="data")
        ax.scatter(samples[name][:, 0], samples[name][:, 1], s=2, c="C3", label="samples")
        ax.set_title((titles or {}).get(name, name), fontsize=9)
        ax.legend(loc="upper right", fontsize=7, markerscale=4)
        ax = axes[1, col]
        ax.scatter(data[:, 0], data[:, 1], s=1, c="0.85")
        traj = trajectories[name]
        for j in range(traj.shape[1]):
            colour = cmap(int(codes[j]) % 10) if (codes is not None and name == "DisCo") else "C0"
            ax.plot(traj[:, j, 0], traj[:, j, 1], lw=0.8, c=colour)
            ax.plot(traj[-1, j, 0], traj[-1, j, 1], "o", ms=2.5, c=colour)
        ax.set_title(f"{name}: ODE paths (probability flow, Heun)", fontsize=9)
        for ax in axes[:, col]:
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
