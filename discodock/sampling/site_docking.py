"""Blind docking through predicted binding sites: find the sites, dock in each with the pocket model, rank all.

Without a site, :func:`discodock.sampling.pipeline.load_docker` returns a :class:`SiteDocker` when the site
predictor's weights are shipped. It takes the ``k`` most likely distinct sites of the receptor
(:func:`discodock.sampling.sites.predict_sites`), crops the receptor around each and docks there with the
pocket weights (their AR prior picks the latents inside the crop), then ranks the poses of every site
together by the pocket run's own ranking (Vina score after the search for the shipped weights, or the
confidence model). ``results.json`` lists the sites with their probabilities and which ranks came from each.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from rdkit import Chem

from discodock.sampling.output import DockResult
from discodock.sampling.settings import DEFAULT_SITES


class SiteDocker:
    """A pocket :class:`~discodock.sampling.pipeline.Docker` plus a site predictor, docking without a site.

    Args:
        pocket: the loaded pocket-docking model.
        predictor: a :class:`~discodock.models.site_predictor.SitePredictor`.
        sites: how many distinct sites to dock in.
        site_weights: where the predictor came from (recorded in results.json).
    """

    supports_blind = True

    def __init__(self, pocket, predictor, *, sites: int = DEFAULT_SITES, site_weights: str | Path = ""):
        if sites < 1:
            raise ValueError("dock in at least one site")
        self.pocket, self.predictor, self.num_sites = pocket, predictor, sites
        self.site_weights = str(site_weights)
        self.cfg, self.device, self.models = pocket.cfg, pocket.device, pocket.models
        self.checkpoint, self.checkpoint_hash = pocket.checkpoint, pocket.checkpoint_hash

    def dock(self, protein_path, ligand_spec, *, name: str, pocket_center=None, settings=None, seed: int = 0,
             crystal_mol: Chem.Mol | None = None) -> DockResult:
        if pocket_center is not None:  # a site was given: plain pocket docking
            return self.pocket.dock(protein_path, ligand_spec, name=name, pocket_center=pocket_center,
                                    settings=settings, seed=seed, crystal_mol=crystal_mol)
        from discodock.data.parsing import load_ligand
        from discodock.sampling.pipeline import DockSettings
        from discodock.sampling.sites import predict_sites

        settings = settings or DockSettings()
        t0 = time.perf_counter()
        mol = ligand_spec if isinstance(ligand_spec, Chem.Mol) else load_ligand(
            ligand_spec, max_heavy_atoms=settings.max_heavy_atoms)
        sites = predict_sites(protein_path, mol, k=self.num_sites, predictor=self.predictor)
        site_s = time.perf_counter() - t0
        results = []
        for i, site in enumerate(sites):
            # a fresh settings copy per site: the pocket run appends its warnings to the one it is given
            results.append(self.pocket.dock(protein_path, mol, name=name, pocket_center=site.center.tolist(),
                                            settings=copy.deepcopy(settings), seed=seed + i,
                                            crystal_mol=crystal_mol))
        tagged = [(p, i) for i, r in enumerate(results) for p in r.poses]
        for p, i in tagged:  # which predicted site a pose came from, as SD properties (site 1: the most likely)
            p.mol.SetIntProp("site", i + 1)
            p.mol.SetDoubleProp("site_probability", round(float(sites[i].probability), 4))
        ranked_by = results[0].info.get("ranked_by")
        if ranked_by == "vina" and all(p.vina_score is not None for p, _ in tagged):
            tagged.sort(key=lambda t: t[0].vina_score)
        elif ranked_by == "confidence" and all(p.confidence is not None for p, _ in tagged):
            tagged.sort(key=lambda t: -t[0].confidence)
        else:  # nothing comparable across sites: the most probable site's poses first, each in its own order
            tagged.sort(key=lambda t: t[1])
        info = dict(results[0].info)
        info["pocket_center"], info["seed"] = None, seed
        info["blind_mode"] = "sites"
        info["site_predictor"] = self.site_weights
        info["warnings"] = sorted({w for r in results for w in r.info.get("warnings", [])})
        info["site_receptor_residues"] = [r.info.get("receptor_residues") for r in results]  # per crop
        info["sites"] = [
            site.to_json() | {"rank": i + 1, "seed": seed + i,
                              "pose_ranks": [rank for rank, (_, s) in enumerate(tagged, start=1) if s == i]}
            for i, site in enumerate(sites)
        ]
        timings = {"site_prediction_s": site_s}
        for key in ("prepare_s", "sampling_s", "ranking_s"):
            timings[key] = sum(r.info.get("timings", {}).get(key, 0.0) for r in results)
        timings["total_s"] = time.perf_counter() - t0
        info["timings"] = timings
        return DockResult(name=name, poses=[p for p, _ in tagged], info=info)


def load_site_docker(*, device: str = "auto", sites: int = DEFAULT_SITES, site_weights=None) -> SiteDocker | None:
    """The shipped pocket weights plus the shipped site predictor; None when no site predictor is shipped."""
    from discodock.models.site_predictor import WEIGHTS, load_site_predictor
    from discodock.sampling.pipeline import load_docker

    path = Path(site_weights) if site_weights else WEIGHTS
    if not path.is_file():
        return None
    pocket = load_docker(None, device=device, blind=False)
    return SiteDocker(pocket, load_site_predictor(path, device=pocket.device), sites=sites, site_weights=path)


def load_engine(checkpoint: str | Path | None = None, *, device: str = "auto", blind: bool = False,
                sites: int | None = None):
    """The docking engine of a run. Without a site and without ``checkpoint``: a :class:`SiteDocker` (the site
    predictor, then the shipped pocket weights in each of ``sites`` sites, default :data:`DEFAULT_SITES`) when
    the site predictor is shipped, else the shipped blind weights; otherwise
    :func:`~discodock.sampling.pipeline.load_docker`."""
    from discodock.sampling.pipeline import load_docker

    if blind and checkpoint is None:
        site_docker = load_site_docker(device=device, sites=sites or DEFAULT_SITES)
        if site_docker is not None:
            return site_docker
    return load_docker(checkpoint, device=device, blind=blind)
