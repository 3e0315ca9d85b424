"""Docking one complex: prior -> latents -> reverse diffusion -> ranking -> poses (written by ``output``).

``load_docker(checkpoint)`` builds the networks once; ``Docker.dock(protein, ligand, ...)`` docks one ligand
and returns a :class:`~discodock.sampling.output.DockResult`. Everything random draws from one generator
seeded per call, so a seed gives the same poses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import torch
from rdkit import Chem

from discodock.config import DockingConfig, SamplingConfig
from discodock.data import keys as K
from discodock.data.atom_matching import match_atoms
from discodock.data.hetero import choose_hetero, describe
from discodock.data.parsing import ligand_warnings
from discodock.data.graph import build_complex, collate_complexes
from discodock.data.cache import CONFORMER_POS
from discodock.data.pocket import place_reference_ligand
from discodock.diffusion.components import sample_prior_pose
from discodock.diffusion.pose import Pose
from discodock.diffusion.reverse import reverse_diffusion
from discodock.errors import CheckpointError, ConfigError, InputError
from discodock.models.bundle import load_models, resolve_device
from discodock.sampling.output import DockResult
from discodock.sampling.ranking import rank_poses
from discodock.sampling.settings import DockSettings, resolve_settings
from discodock.scoring.pdbqt import vina_untyped_elements

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "discodock_cpu.pt"  # pocket docking: the site is given
DEFAULT_BLIND_WEIGHTS = WEIGHTS_DIR / "discodock_cpu_blind.pt"  # blind docking: the whole receptor
# Blind docking builds graphs over the whole receptor: a 27,700-residue (208,000-atom) assembly peaked above
# 3 GB (benchmarks/robustness/real_inputs.py), so larger receptors are refused before sampling rather than run out of memory.
MAX_BLIND_RESIDUES = 30_000


def default_weights(*, blind: bool) -> Path:
    """The shipped weights for a run with (``blind=False``) or without a pocket centre. Without blind weights
    the pocket ones are returned, and docking without a site then fails with a message saying so."""
    return DEFAULT_BLIND_WEIGHTS if blind and DEFAULT_BLIND_WEIGHTS.is_file() else DEFAULT_WEIGHTS


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Docker:
    """A loaded model ready to dock: networks, resolved config, device."""

    def __init__(self, models, cfg: DockingConfig, *, device: torch.device, checkpoint: str, checkpoint_hash: str):
        self.models, self.cfg, self.device = models, cfg, device
        self.checkpoint, self.checkpoint_hash = checkpoint, checkpoint_hash
        self._reused: dict[str, tuple] = {}  # resolved protein path -> (parsed Protein, Vina receptor or None)
        self._ranker = None  # the learned pose ranking, loaded when a run first asks for it

    def reuse_receptor(self, protein_path, *, vina=None) -> None:
        """Parse ``protein_path`` now and reuse it for every later ``dock`` into that file (a screen docks
        thousands of ligands into one receptor). ``vina``: an object with ``score_poses`` and
        ``local_optimize_poses`` (like :class:`~discodock.scoring.vina.VinaReceptor`, e.g. one whose
        grid maps cover the whole site) used instead of the per-call receptor. Raises ProteinError at once."""
        from discodock.data.parsing import load_protein

        self._reused[str(Path(protein_path).resolve())] = (load_protein(protein_path), vina)

    def pose_ranker(self):
        """The shipped learned pose ranking (:mod:`discodock.scoring.pose_ranker`), loaded once."""
        if self._ranker is None:
            from discodock.scoring.pose_ranker import load_pose_ranker

            self._ranker = load_pose_ranker(device="cpu")
        return self._ranker

    def _reused_receptor(self, protein_path) -> tuple:
        return self._reused.get(str(Path(protein_path).resolve()), (None, None))

    @property
    def supports_blind(self) -> bool:
        return self.cfg.data.mode == "blind"

    def build(self, protein_path, ligand_spec, *, name: str, pocket_center, settings: DockSettings, seed: int,
              crystal_mol: Chem.Mol | None = None):
        """Parse inputs and build the complex graph with the ligand as a fresh RDKit conformer."""
        from discodock.data.conformers import generate_conformer
        from discodock.data.parsing import load_ligand, load_protein

        protein = self._reused_receptor(protein_path)[0] or load_protein(protein_path)
        if pocket_center is None and protein.num_residues > MAX_BLIND_RESIDUES:
            raise InputError(protein_path, f"{protein.num_residues} residues: blind docking is limited to "
                                           f"{MAX_BLIND_RESIDUES} (memory); give --pocket-center X,Y,Z or crop the "
                                           "receptor")
        mol = ligand_spec if isinstance(ligand_spec, Chem.Mol) else load_ligand(
            ligand_spec, max_heavy_atoms=settings.max_heavy_atoms, index=settings.ligand_index)
        if pocket_center is None and not self.supports_blind:
            raise InputError(protein_path, "this checkpoint was trained for pocket docking; give the binding "
                                           "site with --pocket-center X,Y,Z (Angstrom)")
        conformer = generate_conformer(mol, seed=seed)
        radius = None
        if pocket_center is not None:
            radius = resolve_settings(settings, self.cfg).pocket_radius
        crystal = None
        if crystal_mol is not None:
            # The crystal ligand's atoms in the docked molecule's order (a ligand from SMILES has another).
            order = match_atoms(conformer, crystal_mol)
            crystal = torch.tensor(crystal_mol.GetConformer().GetPositions()[order], dtype=torch.float32)
        data = build_complex(
            protein, conformer, pocket_center=None if pocket_center is None else torch.tensor(pocket_center),
            pocket_radius=radius, receptor_radius=self.cfg.data.receptor_radius,
            receptor_max_neighbours=self.cfg.data.receptor_max_neighbours, name=name, crystal_pos=crystal,
            **(self.cfg.data.atom_view() if radius is not None else {}),
        )
        data[CONFORMER_POS] = data[K.LIGAND][K.POS].clone()
        return data, mol, protein

    @torch.no_grad()
    def sample(self, data, *, settings: DockSettings, generator: torch.Generator) -> torch.Tensor:
        """``[S, N, 3]`` final ligand coordinates of ``settings.samples`` poses (Angstrom, protein frame)."""
        models, cfg = self.models, self.cfg
        settings = resolve_settings(settings, cfg)
        schedule = cfg.diffusion.schedule()
        n_atoms = data[K.LIGAND][K.POS].shape[0]
        if settings.samples == 0:  # the search's random starts alone (checked: refine=search, random_starts > 0)
            return torch.zeros(0, n_atoms, 3)
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

    def dock(self, protein_path, ligand_spec, *, name: str, pocket_center=None, settings: DockSettings | None = None,
             seed: int = 0, crystal_mol: Chem.Mol | None = None) -> DockResult:
        settings = resolve_settings(settings or DockSettings(), self.cfg)
        if settings.refine == "search" and pocket_center is None:  # before any work
            raise ConfigError("--refine", "search needs a site (--pocket-center or --autobox-ligand)")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data, mol, protein = self.build(protein_path, ligand_spec, name=name, pocket_center=pocket_center,
                                        settings=settings, seed=seed, crystal_mol=crystal_mol)
        het_kept, het_dropped = choose_hetero(protein.hetero, settings.keep_het, site=pocket_center)
        input_warnings = [f"receptor: {w}" for w in protein.warnings] + [f"ligand: {w}" for w in ligand_warnings(mol)]
        if het_kept or het_dropped:
            input_warnings.append(f"receptor: {describe(het_kept, het_dropped)}")
        untyped = vina_untyped_elements(mol) if settings.refine == "search" else []
        if untyped:  # the search runs on Vina's energy: a ligand Vina cannot type (boron) gets diffusion samples
            samples = settings.samples or SamplingConfig.samples
            settings = dataclasses.replace(settings, samples=samples, random_starts=0)
            input_warnings.append(f"ligand: AutoDock Vina has no atom type for {', '.join(untyped)}: no search; "
                                  f"{samples} diffusion samples instead")
        timings["prepare_s"] = time.perf_counter() - t0
        torch.manual_seed(seed)  # any op without an explicit generator stays reproducible too
        generator = torch.Generator(device=self.device).manual_seed(seed)
        t1 = time.perf_counter()
        positions = self.sample(data, settings=settings, generator=generator)
        timings["sampling_s"] = time.perf_counter() - t1
        if not torch.isfinite(positions).all():
            raise InputError(protein_path, "sampling produced non-finite coordinates")
        if settings.refine == "search" and settings.random_starts:
            # Random orientations at the site next to the samples: the search then starts from both, and the
            # pool holds whichever minima either reaches (chosen on validation: benchmarks/accuracy/search_val.py).
            from discodock.sampling.seeded_search import random_starts

            cpu_gen = torch.Generator().manual_seed(seed)
            positions = torch.cat([positions, random_starts(data[CONFORMER_POS].cpu(), pocket_center,
                                                            settings.random_starts, generator=cpu_gen)])
        info = {
            "seed": seed, "checkpoint": self.checkpoint, "checkpoint_sha256": self.checkpoint_hash,
            "samples": settings.samples, "steps": settings.steps, "latents": settings.latents,
            "prior_temperature": settings.prior_temperature, "temperature": settings.temperature,
            "ode": settings.ode, "refine": settings.refine, "device": str(self.device),
            "pocket_center": None if pocket_center is None else [float(v) for v in pocket_center],
            "pocket_radius": settings.pocket_radius if pocket_center is not None else None,
            "receptor_residues": int(data[K.RECEPTOR][K.POS].shape[0]),
            "ligand_heavy_atoms": int(mol.GetNumAtoms()), "warnings": list(settings.warnings) + input_warnings,
            "protein": str(protein_path),
            "ligand": ligand_spec.GetProp("source") if isinstance(ligand_spec, Chem.Mol) and ligand_spec.HasProp("source")
            else str(ligand_spec) if not isinstance(ligand_spec, Chem.Mol) else None,
            "ligand_index": settings.ligand_index,
            "receptor_hetero": {"keep_het": settings.keep_het, "kept_for_vina": [g.label for g in het_kept],
                                "dropped": [g.label for g in het_dropped], "model_nodes": "residues only"},
        }
        t2 = time.perf_counter()
        search = None
        if settings.refine == "search":
            info.update(search_iterations=settings.search_iterations, search_chains=settings.search_chains,
                        random_starts=settings.random_starts, search_keep=settings.search_keep)
            from discodock.sampling.seeded_search import search_arguments

            search = search_arguments(data, center=pocket_center, iterations=settings.search_iterations,
                                      chains=settings.search_chains, seed=seed, keep=settings.search_keep)
        poses = rank_poses(data, mol, positions, confidence=self.models.confidence, protein_path=protein_path,
                           method=settings.rank, refine=settings.refine, info=info, device=self.device,
                           drop_het=frozenset(g.key for g in het_dropped),
                           vina_receptor=self._reused_receptor(protein_path)[1], search=search,
                           ranker=self.pose_ranker() if settings.rank == "learned" else None,
                           receptor_atoms=protein.atoms)
        timings["ranking_s"] = time.perf_counter() - t2
        timings["total_s"] = time.perf_counter() - t0
        info["timings"] = timings
        return DockResult(name=name, poses=poses, info=info)


def load_docker(checkpoint: str | Path | None = None, *, device: str = "auto", blind: bool = False) -> Docker:
    """Load a checkpoint (default: the weights shipped in ``discodock/weights``, the blind ones for ``blind=True``).
    :func:`discodock.sampling.site_docking.load_engine` is what a run without a site uses: it finds sites first."""
    path = Path(checkpoint) if checkpoint else default_weights(blind=blind)
    if not path.is_file():
        if checkpoint is None:
            raise CheckpointError(path, "no shipped weights found; train a model or pass --checkpoint")
        raise CheckpointError(path, "checkpoint file not found")
    dev = resolve_device(device)
    models, cfg, _ = load_models(path, device=dev)
    return Docker(models, cfg, device=dev, checkpoint=str(path), checkpoint_hash=file_sha256(path))
