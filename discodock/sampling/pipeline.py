"""Docking one complex: prior -> latents -> reverse diffusion -> ranking -> poses (written by ``output``).

``load_docker(checkpoint)`` builds the networks once; ``Docker.dock(protein, ligand, ...)`` docks one ligand
and returns a :class:`~discodock.sampling.output.DockResult`. Everything random draws from one generator
seeded per call, so a seed gives the same poses.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rdkit import Chem
from rdkit.Geometry import Point3D

from discodock.config import DockingConfig
from discodock.data import keys as K
from discodock.data.graph import build_complex, collate_complexes
from discodock.data.cache import CONFORMER_POS
from discodock.data.pocket import place_reference_ligand
from discodock.diffusion.components import Pose, sample_prior_pose
from discodock.diffusion.reverse import reverse_diffusion
from discodock.errors import CheckpointError, ConfigError, InputError
from discodock.sampling.output import DockResult, RankedPose

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "discodock_cpu.pt"  # pocket docking: the site is given
DEFAULT_BLIND_WEIGHTS = WEIGHTS_DIR / "discodock_cpu_blind.pt"  # blind docking: the whole receptor


def default_weights(*, blind: bool) -> Path:
    """The shipped weights for a run with (``blind=False``) or without a pocket centre. Without blind weights
    the pocket ones are returned, and docking without a site then fails with a message saying so."""
    return DEFAULT_BLIND_WEIGHTS if blind and DEFAULT_BLIND_WEIGHTS.is_file() else DEFAULT_WEIGHTS


@dataclass
class DockSettings:
    """Sampling options. Temperatures: ``prior_temperature`` > 1 flattens the latent prior, ``temperature``
    < 1 sharpens the diffusion (the paper used > 1 and < 1). ``pocket_radius`` in Angstrom (None: the
    checkpoint's)."""

    samples: int = 10
    steps: int = 20
    latents: str = "prior"  # prior | none | oracle (benchmark only: needs the crystal pose)
    prior_temperature: float = 1.0
    temperature: float = 1.0
    ode: bool = False
    pocket_radius: float | None = None
    refine: str | None = None  # none | vina; None: the checkpoint's default
    rank: str | None = None  # confidence | vina; None: the checkpoint's default
    batch_size: int | None = None
    max_heavy_atoms: int = 150
    progress: bool = False
    warnings: list[str] = field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _with_coords(mol: Chem.Mol, pos: torch.Tensor) -> Chem.Mol:
    out = Chem.Mol(mol)
    out.RemoveAllConformers()
    conf = Chem.Conformer(out.GetNumAtoms())
    for i, (x, y, z) in enumerate(pos.detach().cpu().double().tolist()):
        conf.SetAtomPosition(i, Point3D(x, y, z))
    conf.Set3D(True)
    out.AddConformer(conf, assignId=True)
    return out


class Docker:
    """A loaded model ready to dock: networks, resolved config, device."""

    def __init__(self, models, cfg: DockingConfig, *, device: torch.device, checkpoint: str, checkpoint_hash: str):
        self.models, self.cfg, self.device = models, cfg, device
        self.checkpoint, self.checkpoint_hash = checkpoint, checkpoint_hash

    @property
    def supports_blind(self) -> bool:
        return self.cfg.data.mode == "blind"

    def build(self, protein_path, ligand_spec, *, name: str, pocket_center, settings: DockSettings, seed: int,
              crystal_mol: Chem.Mol | None = None):
        """Parse inputs and build the complex graph with the ligand as a fresh RDKit conformer."""
        from discodock.data.conformers import generate_conformer
        from discodock.data.parsing import load_ligand, load_protein

        protein = load_protein(protein_path)
        mol = ligand_spec if isinstance(ligand_spec, Chem.Mol) else load_ligand(
            ligand_spec, max_heavy_atoms=settings.max_heavy_atoms)
        if pocket_center is None and not self.supports_blind:
            raise InputError(protein_path, "this checkpoint was trained for pocket docking; give the binding "
                                           "site with --pocket-center X,Y,Z (Angstrom)")
        conformer = generate_conformer(mol, seed=seed)
        radius = None
        if pocket_center is not None:
            radius = settings.pocket_radius or self.cfg.data.pocket_radius
        crystal = None
        if crystal_mol is not None:
            crystal = torch.tensor(crystal_mol.GetConformer().GetPositions(), dtype=torch.float32)
        data = build_complex(
            protein, conformer, pocket_center=None if pocket_center is None else torch.tensor(pocket_center),
            pocket_radius=radius, receptor_radius=self.cfg.data.receptor_radius,
            receptor_max_neighbours=self.cfg.data.receptor_max_neighbours, name=name, crystal_pos=crystal,
        )
        data[CONFORMER_POS] = data[K.LIGAND][K.POS].clone()
        return data, mol

    @torch.no_grad()
    def sample(self, data, *, settings: DockSettings, generator: torch.Generator) -> torch.Tensor:
        """``[S, N, 3]`` final ligand coordinates of ``settings.samples`` poses (Angstrom, protein frame)."""
        models, cfg = self.models, self.cfg
        schedule = cfg.diffusion.schedule()
        n_atoms = data[K.LIGAND][K.POS].shape[0]
        bs = settings.batch_size or settings.samples
        temps = None if settings.temperature == 1.0 else {c: settings.temperature for c in ("tr", "rot", "tor")}
        out = []
        for start in range(0, settings.samples, bs):
            n = min(bs, settings.samples - start)
            batch = collate_complexes([data] * n).to(self.device)
            latents = self._latents(data, batch, n, settings=settings, generator=generator)
            pose = sample_prior_pose(Pose.from_complex(batch), schedule=schedule,
                                     center=batch[K.POCKET_CENTER].reshape(-1, 3), generator=generator)

            def score_fn(p: Pose, t, sigmas):
                batch[K.LIGAND][K.POS] = p.pos
                return models.score(batch, sigma=sigmas, latents=latents)

            final = reverse_diffusion(score_fn, pose, schedule=schedule, num_steps=settings.steps, ode=settings.ode,
                                      temperatures=temps, generator=generator)
            out.append(final.pos.reshape(n, n_atoms, 3).cpu())
        return torch.cat(out)

    def _latents(self, data, batch, n: int, *, settings: DockSettings, generator: torch.Generator):
        models = self.models
        if settings.latents == "none" or models.prior is None:
            return None
        if settings.latents == "oracle":
            if K.CRYSTAL_POS not in data:
                raise ConfigError("--latents", "oracle latents need the crystal pose")
            return models.encoder.encode(batch, sample=False)
        cpu_gen = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator,
                                                                  device=generator.device)))
        prior_batch = collate_complexes([place_reference_ligand(data, cpu_gen) for _ in range(n)]).to(self.device)
        codes = models.prior.sample(prior_batch, temperature=settings.prior_temperature, generator=generator)
        return models.prior.to_latents(batch, codes)

    def rank(self, data, mol: Chem.Mol, positions: torch.Tensor, *, protein_path, settings: DockSettings,
             info: dict) -> list[RankedPose]:
        """Score every pose (confidence model or Vina), optionally refine with Vina, best first."""
        from discodock.eval.vina_baseline import get_receptor, vina_untyped_elements

        method = settings.rank or self.cfg.sampling.rank
        refine = settings.refine or self.cfg.sampling.refine
        untyped = vina_untyped_elements(mol)
        if method == "confidence" and self.models.confidence is None:
            method = "vina"
            if not untyped:  # else the warning below says what was done instead
                info.setdefault("warnings", []).append("checkpoint has no confidence model; ranked by Vina score")
        if untyped and "vina" in (method, refine):  # e.g. a boronic acid: still dock it, without Vina
            refine = "none"
            method = "confidence" if self.models.confidence is not None else "none"
            info.setdefault("warnings", []).append(
                f"AutoDock Vina has no atom type for {', '.join(untyped)}: poses not refined by Vina, "
                + ("left in sample order (no confidence model)" if method == "none" else "ranked by confidence"))
        poses = [RankedPose(mol=_with_coords(mol, p), sample_index=i) for i, p in enumerate(positions)]
        if "vina" in (method, refine):
            receptor = get_receptor(protein_path)
            if refine == "vina":
                for p, refined in zip(poses, receptor.local_optimize_poses([p.mol for p in poses])):
                    p.mol, p.vina_score = refined.mol, refined.score
                positions = torch.stack([torch.tensor(p.mol.GetConformer().GetPositions(), dtype=torch.float32)
                                         for p in poses])
            else:
                for p, score in zip(poses, receptor.score_poses([p.mol for p in poses])):
                    p.vina_score = score
        if method == "confidence":
            conf = self.models.confidence.predict(data, positions.to(self.device))
            for p, c in zip(poses, conf.tolist()):
                p.confidence = float(c)
            poses.sort(key=lambda p: -p.confidence)
        elif method == "vina":
            poses.sort(key=lambda p: p.vina_score if p.vina_score is not None else float("inf"))
        info["ranked_by"], info["refine"] = method, refine
        return poses

    def dock(self, protein_path, ligand_spec, *, name: str, pocket_center=None, settings: DockSettings | None = None,
             seed: int = 0, crystal_mol: Chem.Mol | None = None) -> DockResult:
        settings = settings or DockSettings()
        if settings.samples < 1:
            raise ConfigError("--samples", f"must be at least 1, got {settings.samples}")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data, mol = self.build(protein_path, ligand_spec, name=name, pocket_center=pocket_center,
                               settings=settings, seed=seed, crystal_mol=crystal_mol)
        timings["prepare_s"] = time.perf_counter() - t0
        torch.manual_seed(seed)  # any op without an explicit generator stays reproducible too
        generator = torch.Generator(device=self.device).manual_seed(seed)
        t1 = time.perf_counter()
        positions = self.sample(data, settings=settings, generator=generator)
        timings["sampling_s"] = time.perf_counter() - t1
        if not torch.isfinite(positions).all():
            raise InputError(protein_path, "sampling produced non-finite coordinates")
        info = {
            "seed": seed, "checkpoint": self.checkpoint, "checkpoint_sha256": self.checkpoint_hash,
            "samples": settings.samples, "steps": settings.steps, "latents": settings.latents,
            "prior_temperature": settings.prior_temperature, "temperature": settings.temperature,
            "ode": settings.ode, "refine": settings.refine, "device": str(self.device),
            "pocket_center": None if pocket_center is None else [float(v) for v in pocket_center],
            "pocket_radius": (settings.pocket_radius or self.cfg.data.pocket_radius) if pocket_center is not None else None,
            "receptor_residues": int(data[K.RECEPTOR][K.POS].shape[0]),
            "ligand_heavy_atoms": int(mol.GetNumAtoms()), "warnings": list(settings.warnings),
        }
        t2 = time.perf_counter()
        poses = self.rank(data, mol, positions, protein_path=protein_path, settings=settings, info=info)
        timings["ranking_s"] = time.perf_counter() - t2
        timings["total_s"] = time.perf_counter() - t0
        info["timings"] = timings
        return DockResult(name=name, poses=poses, info=info)


def load_docker(checkpoint: str | Path | None = None, *, device: str = "auto", blind: bool = False) -> Docker:
    """Load a checkpoint (default: the weights shipped in ``discodock/weights``). ``blind=True`` without a
    checkpoint gives a :class:`~discodock.sampling.site_docking.SiteDocker` (site predictor + pocket weights)
    when the site predictor is shipped, else the shipped blind weights."""
    from discodock.train import load_models, resolve_device

    if blind and checkpoint is None:  # no site: find sites, dock in each with the pocket weights
        from discodock.sampling.site_docking import load_site_docker

        site_docker = load_site_docker(device=device)
        if site_docker is not None:
            return site_docker
    path = Path(checkpoint) if checkpoint else default_weights(blind=blind)
    if not path.is_file():
        if checkpoint is None:
            raise CheckpointError(path, "no shipped weights found; train a model or pass --checkpoint")
        raise CheckpointError(path, "checkpoint file not found")
    dev = resolve_device(device)
    models, cfg, _ = load_models(path, device=dev)
    return Docker(models, cfg, device=dev, checkpoint=str(path), checkpoint_hash=file_sha256(path))


_DOCKERS: dict[tuple[str, str], Docker] = {}  # per process: load each checkpoint once per benchmark run


def dock_for_benchmark(protein_path, ligand_mol: Chem.Mol, *, checkpoint=None, samples: int = 10,
                       latents: str = "prior", pocket_center=None, seed: int = 0, device: str = "auto",
                       crystal_mol: Chem.Mol | None = None, rank: str | None = None,
                       refine: str | None = None) -> list[tuple[Chem.Mol, float]]:
    """Ranked ``(pose, confidence or Vina score)`` pairs, best first, for ``discodock benchmark``."""
    blind = pocket_center is None
    key = (str(checkpoint or default_weights(blind=blind)), str(device))
    if key not in _DOCKERS:
        _DOCKERS[key] = load_docker(checkpoint, device=device, blind=blind)
    docker = _DOCKERS[key]
    settings = DockSettings(samples=samples, latents=latents, steps=docker.cfg.sampling.steps, rank=rank,
                            refine=refine)
    result = docker.dock(protein_path, ligand_mol, name="benchmark", pocket_center=pocket_center,
                         settings=settings, seed=seed, crystal_mol=crystal_mol if latents == "oracle" else None)
    return [(p.mol, p.confidence if p.confidence is not None else p.vina_score) for p in result.poses]
