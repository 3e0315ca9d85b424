"""Training the all-atom pocket preset (cpu_site_atoms): its loss falls on real complexes, and the training
path (prepare -> cache -> views -> train -> checkpoint) carries the receptor atoms end to end."""

import json

import torch

from discodock.config import load_docking_config
from discodock.data import keys as K

from .conftest import EXAMPLES, IDS, fit_one_batch


def test_atoms_preset_loss_falls_on_a_fixed_batch():
    """Repeated steps on one batch of two real complexes, the same noise draws: every component's loss falls."""
    from discodock.data.graph import build_complex
    from discodock.data.parsing import load_ligand, load_protein
    from discodock.models.bundle import DockingModels
    from discodock.training.views import make_batch

    cfg = load_docking_config("cpu_site_atoms", {"train.batch_size": 2})
    complexes = []
    for pid in IDS[:2]:
        mol = load_ligand(EXAMPLES / pid / f"{pid}_ligand.sdf")
        crystal = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
        complexes.append(build_complex(load_protein(EXAMPLES / pid / f"{pid}_protein.pdb.gz"), mol,
                                       crystal_pos=crystal, pocket_radius=30.0, atom_radius=22.0, name=pid))
    torch.manual_seed(0)
    models = DockingModels(cfg.model)
    batch = make_batch(complexes, cfg, torch.Generator().manual_seed(1), torch.device("cpu"))
    assert batch[K.RECEPTOR_ATOM][K.POS].shape[0] > 100
    fit_one_batch(models, batch, cfg, list(models.score.parameters()) + list(models.encoder.parameters()), steps=25)
    assert all(p.grad is not None for n, p in models.score.named_parameters() if ".atoms." in n)


def test_training_path_caches_and_trains_with_atoms(tmp_path):
    from discodock.models.bundle import load_models
    from discodock.training.data import load_complexes
    from discodock.training.score import train_score

    cfg = load_docking_config("cpu_site_atoms", {
        "data.conformer_matching": False, "train.steps": 4, "train.batch_size": 2, "train.val_every": 2,
        "train.val_batches": 1, "train.log_every": 1, "train.ckpt_every": 2})
    train = load_complexes([EXAMPLES], IDS[:2], cfg, cache=tmp_path / "cache", progress_bar=False)
    val = load_complexes([EXAMPLES], IDS[3:], cfg, cache=tmp_path / "cache", progress_bar=False)
    for data in train + val:  # cached with the margin; each training view crops to atom_radius
        dist = (data[K.RECEPTOR_ATOM][K.POS] - data[K.CRYSTAL_POS].mean(0)).norm(dim=1)
        assert dist.max() < cfg.data.atom_radius + 10.0 and dist.max() > cfg.data.atom_radius
    result = train_score(cfg, train, val, tmp_path / "run", device="cpu", show_progress=False)
    assert result.step == 4
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["split"] == "val"] == [2, 4]
    models, loaded, _ = load_models(tmp_path / "run" / "weights.pt")
    assert loaded.data.pocket_atoms and models.score.trunk.atoms is not None

    # docking builds the atoms from the protein file for such a checkpoint
    from discodock.cli import main
    from rdkit import Chem

    ligand = EXAMPLES / "6ce6" / "6ce6_ligand.sdf"
    code = main(["dock", "--protein", str(EXAMPLES / "6ce6" / "6ce6_protein.pdb.gz"), "--ligand", str(ligand),
                 "--out", str(tmp_path / "dock"), "--checkpoint", str(tmp_path / "run" / "weights.pt"),
                 "--samples", "2", "--steps", "2", "--pocket-center", "-2.2,3.4,7.3", "--latents", "none",
                 "--rank", "vina", "--refine", "none", "--name", "x", "--quiet"])
    assert code == 0
    mol = next(Chem.SDMolSupplier(str(tmp_path / "dock" / "x" / "rank1.sdf")))
    assert mol is not None and mol.GetNumAtoms() == Chem.MolFromMolFile(str(ligand)).GetNumAtoms()
