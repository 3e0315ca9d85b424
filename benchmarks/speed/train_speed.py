"""Forward / backward time of the docking networks per model config, on real complexes.

One training step of the score stage is: encode the crystal complex (latent encoder), run the score net on
a noised pose, backpropagate a loss through both. This script times those parts for each config on a
batch of the example complexes in ``data/examples`` (pocket-cropped like training data), at noise levels
spread over t in (0, 1] (the cross-edge cutoff, hence the cost, grows with sigma_tr), and prints a table.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/speed/train_speed.py --configs tiny cpu diffdock_s --threads 2

Columns: edges per batch (ligand, receptor, cross; averaged over the noise levels), milliseconds for the
encoder forward, the score-net forward and the backward of both (wall clock), the process CPU time of a
whole step (all threads; with ``--threads 1`` on a busy machine it is the better estimate of the
uncontended step time), steps/s and complexes/s (wall clock), peak memory (resident set on CPU, allocated
tensors on CUDA) and parameter counts.

Measured 2026-11-28, batch of the 4 examples (92 ligand atoms, 223 residues at a 15 A crop), 4 noise levels,
pointer latents (score net + encoder), one step = encoder forward + score forward + backward:

=========== ============================= ======================== ===================
config      idle 16-core host, 1 / 2 thr  this 2-core box, busy    H200 (B=4 / B=16)
=========== ============================= ======================== ===================
tiny        12.6 / 9.9 steps/s            ~6 steps/s (CPU time)    13.1 / 13 steps/s
cpu         3.3 / 3.8 steps/s             ~2.3 steps/s (CPU time)  7.5 / 7.5 steps/s
diffdock_s  -- / 0.39 steps/s             --                       4.5 / 3.8 steps/s
diffdock    --                            --                       2.5 / 1.4 steps/s
=========== ============================= ======================== ===================

On the GPU the small graphs are launch-bound (B=16 runs as many steps/s as B=4, four times the
complexes); the full ``diffdock`` config peaked at 4.3 GB (B=4) and 16.7 GB (B=16) of GPU memory.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"

SIGMA_RANGES = {"tr": (0.1, 19.0), "rot": (0.03, 1.55), "tor": (0.0314, math.pi)}


def sigmas_at(t: float, b: int) -> dict[str, torch.Tensor]:
    """Geometric interpolation of the default noise ranges (DiffDock's schedule) at time t."""
    return {c: torch.full((b,), lo ** (1 - t) * hi**t) for c, (lo, hi) in SIGMA_RANGES.items()}


def load_batch(names: list[str], pocket_radius: float | None, batch_size: int):
    from discodock.data.graph import build_complex, collate_complexes
    from discodock.data.parsing import load_ligand, load_protein

    complexes = []
    for name in names:
        protein = load_protein(EXAMPLES / name / f"{name}_protein.pdb.gz")
        ligand = load_ligand(EXAMPLES / name / f"{name}_ligand.sdf")
        crystal = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)
        complexes.append(build_complex(protein, ligand, crystal_pos=crystal, pocket_radius=pocket_radius, name=name))
    # Repeat the examples to fill the batch.
    return collate_complexes([complexes[i % len(complexes)] for i in range(batch_size)])


def noised(batch, sigma: dict[str, torch.Tensor], gen: torch.Generator):
    """The batch with each ligand shifted by N(0, sigma_tr^2) (rotation and torsions do not change the cost)."""
    from discodock.data import keys as K

    out = batch.clone()
    lig = out[K.LIGAND]
    shift = torch.randn(sigma["tr"].shape[0], 3, generator=gen) * sigma["tr"][:, None]
    lig[K.POS] = lig[K.POS] + shift[lig.batch]
    return out


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_device(batch, device: torch.device):
    return batch.to(device) if device.type != "cpu" else batch


def bench_config(name: str, batch, args, device: torch.device) -> dict[str, float]:
    from discodock.data import keys as K
    from discodock.models import LatentEncoder, ScoreNet, load_model_config, with_latent

    cfg = load_model_config(name)
    if args.latent != "config":
        cfg = with_latent(cfg, mode=args.latent, m=0 if args.latent == "none" else cfg.latent.m)
    torch.manual_seed(0)
    net = ScoreNet(cfg).to(device).train()
    enc = LatentEncoder(cfg).to(device).train() if cfg.latent.active else None
    params = sum(p.numel() for p in net.parameters())
    enc_params = sum(p.numel() for p in enc.parameters()) if enc is not None else 0
    gen = torch.Generator().manual_seed(0)
    ts = [(i + 1) / args.levels for i in range(args.levels)]
    times = {"enc": [], "fwd": [], "bwd": [], "cpu": []}
    edges = {"lig": [], "rec": [], "cross": []}
    b = batch.num_graphs
    for rep in range(args.repeats + 1):  # the first round warms up (tables, allocator)
        for t in ts:
            sigma = sigmas_at(t, b)
            noisy = to_device(noised(batch, sigma, gen), device)
            sigma = {k: v.to(device) for k, v in sigma.items()}
            sync(device)
            c0 = time.process_time()
            t0 = time.perf_counter()
            latents = enc.encode(noisy, p_drop=cfg.latent.dropout, generator=None) if enc is not None else None
            sync(device)
            t1 = time.perf_counter()
            out = net(noisy, sigma=sigma, latents=latents)
            loss = out["tr"].pow(2).mean() + out["rot"].pow(2).mean() + out["tor"].pow(2).mean()
            sync(device)
            t2 = time.perf_counter()
            loss.backward()
            sync(device)
            t3 = time.perf_counter()
            c3 = time.process_time()
            net.zero_grad(set_to_none=True)
            if enc is not None:
                enc.zero_grad(set_to_none=True)
            if rep:
                times["enc"].append(t1 - t0)
                times["fwd"].append(t2 - t1)
                times["bwd"].append(t3 - t2)
                times["cpu"].append(c3 - c0)
            if rep == 1:
                g = net.trunk.build_graph(
                    noisy, noisy[K.LIGAND][K.POS],
                    cfg.score.cross_base + cfg.score.cross_per_sigma * sigma["tr"],
                )
                edges["lig"].append(g.lig_edges.shape[1])
                edges["rec"].append(g.rec_edges.shape[1])
                edges["cross"].append(g.cross_pairs.shape[1])
    mean = {k: sum(v) / len(v) for k, v in times.items()}
    step = mean["enc"] + mean["fwd"] + mean["bwd"]
    return {
        "edges_lig": sum(edges["lig"]) / len(edges["lig"]),
        "edges_rec": sum(edges["rec"]) / len(edges["rec"]),
        "edges_cross": sum(edges["cross"]) / len(edges["cross"]),
        "enc_ms": 1e3 * mean["enc"],
        "fwd_ms": 1e3 * mean["fwd"],
        "bwd_ms": 1e3 * mean["bwd"],
        "cpu_ms": 1e3 * mean["cpu"],
        "steps_s": 1.0 / step,
        "complexes_s": b / step,
        "peak_mb": peak_memory_mb(device),
        "params": params,
        "enc_params": enc_params,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "cpu", "diffdock_s"])
    parser.add_argument("--examples", nargs="+", default=["6ce6", "3d6p", "5n17", "5y12"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--pocket-radius", type=float, default=15.0, help="crop radius in A (<= 0: whole protein)")
    parser.add_argument("--levels", type=int, default=4, help="noise levels t = 1/L, 2/L, ..., 1")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latent", default="config", choices=["config", "none", "pointer"])
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    radius = args.pocket_radius if args.pocket_radius > 0 else None
    batch = load_batch(args.examples, radius, args.batch_size)
    from discodock.data import keys as K

    n_lig = batch[K.LIGAND][K.POS].shape[0]
    n_rec = batch[K.RECEPTOR][K.POS].shape[0]
    print(f"device {device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"batch: {batch.num_graphs} complexes, {n_lig} ligand atoms, {n_rec} residues "
          f"(pocket radius {args.pocket_radius:g} A), latents: {args.latent}, t in {args.levels} levels")
    header = (f"{'config':<11}{'lig E':>7}{'rec E':>7}{'cross E':>9}{'enc ms':>8}{'fwd ms':>8}{'bwd ms':>8}"
              f"{'cpu ms':>8}{'steps/s':>9}{'cplx/s':>8}{'peak MB':>9}{'params':>9}{'enc par':>9}")
    print(header)
    for name in args.configs:
        r = bench_config(name, batch, args, device)
        print(f"{name:<11}{r['edges_lig']:>7.0f}{r['edges_rec']:>7.0f}{r['edges_cross']:>9.0f}{r['enc_ms']:>8.0f}"
              f"{r['fwd_ms']:>8.0f}{r['bwd_ms']:>8.0f}{r['cpu_ms']:>8.0f}{r['steps_s']:>9.2f}{r['complexes_s']:>8.2f}"
              f"{r['peak_mb']:>9.0f}{r['params']:>9d}{r['enc_params']:>9d}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
