"""Complex graphs on real examples, pocket cropping, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import HeteroData

from discodock.data import keys as K
from discodock.data.featurize import BOND_FEATURE_DIM, LIGAND_FEATURE_DIM, RESIDUE_FEATURE_DIM
from discodock.data.graph import build_complex, collate_complexes, torsion_batch
from discodock.data.parsing import load_ligand, load_protein
from discodock.errors import ProteinError

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "data" / "examples"
EXAMPLE_IDS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def complexes():
    out = []
    for cid in EXAMPLE_IDS:
        protein = load_protein(EXAMPLES / cid / f"{cid}_protein.pdb.gz")
        mol = load_ligand(EXAMPLES / cid / f"{cid}_ligand.sdf")
        out.append((protein, mol, build_complex(protein, mol, crystal_pos=mol.GetConformer().GetPositions(), name=cid)))
    return out


def test_build_complex_fields(complexes):
    for protein, mol, data in complexes:
        n, r = mol.GetNumAtoms(), protein.num_residues
        lig, rec = data[K.LIGAND], data[K.RECEPTOR]
        assert lig[K.POS].shape == (n, 3) and lig[K.X].shape == (n, LIGAND_FEATURE_DIM)
        t = lig[K.TOR_BONDS].shape[0]
        assert lig[K.TOR_BONDS].dtype == torch.long and lig[K.TOR_MASK].shape == (t, n)
        assert lig[K.TOR_MASK].dtype == torch.bool
        assert data[K.LIGAND_BOND][K.EDGE_INDEX].shape == (2, 2 * mol.GetNumBonds())
        assert data[K.LIGAND_BOND][K.EDGE_ATTR].shape == (2 * mol.GetNumBonds(), BOND_FEATURE_DIM)
        assert rec[K.POS].shape == (r, 3) and rec[K.X].shape == (r, RESIDUE_FEATURE_DIM)
        assert rec[K.N_POS].shape == rec[K.C_POS].shape == (r, 3)
        np.testing.assert_allclose(lig[K.POS].numpy(), mol.GetConformer().GetPositions(), atol=1e-4)
        assert torch.equal(data[K.CRYSTAL_POS], lig[K.POS])
        assert data[K.POCKET_CENTER].shape == (1, 3)
        torch.testing.assert_close(data[K.POCKET_CENTER][0], rec[K.POS].mean(0))  # blind: protein centre
        assert data[K.MOL].GetNumAtoms() == n and data[K.NAME] in EXAMPLE_IDS
        ei = data[K.RECEPTOR_EDGE][K.EDGE_INDEX]
        assert torch.bincount(ei[1], minlength=r).max() <= 24
        d = torch.linalg.norm(rec[K.POS][ei[0]] - rec[K.POS][ei[1]], dim=1)
        assert d.max() < 15.0 and bool((ei[0] != ei[1]).all())


def test_pocket_cropping(complexes):
    protein, mol, _ = complexes[0]
    crystal = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32)
    data = build_complex(protein, mol, crystal_pos=crystal, pocket_radius=12.0)
    center = crystal.mean(0)
    ca = torch.as_tensor(protein.ca)
    expected = (torch.linalg.norm(ca - center, dim=1) < 12.0).sum().item()
    assert 0 < expected < protein.num_residues
    rec = data[K.RECEPTOR]
    assert rec[K.POS].shape[0] == expected == rec[K.X].shape[0] == rec[K.N_POS].shape[0]
    assert torch.linalg.norm(rec[K.POS] - center, dim=1).max() < 12.0
    torch.testing.assert_close(data[K.POCKET_CENTER][0], center)
    far = torch.tensor([1000.0, 1000.0, 1000.0])
    with pytest.raises(ProteinError, match="no residue"):
        build_complex(protein, mol, pocket_center=far, pocket_radius=5.0)


def test_embeddings_follow_cropping(complexes):
    protein, mol, _ = complexes[0]
    emb = np.arange(protein.num_residues * 2, dtype=np.float32).reshape(-1, 2)
    with_emb = type(protein)(**{**protein.__dict__, "embedding": emb})
    crystal = mol.GetConformer().GetPositions()
    data = build_complex(with_emb, mol, crystal_pos=crystal, pocket_radius=10.0)
    keep = np.linalg.norm(protein.ca - crystal.mean(0), axis=1) < 10.0
    np.testing.assert_array_equal(data[K.RECEPTOR][K.EMB].numpy(), emb[keep])


def test_collate_offsets(complexes):
    datas = [c[2] for c in complexes]
    batch = collate_complexes(datas)
    lig = batch[K.LIGAND]
    sizes = [d[K.LIGAND][K.POS].shape[0] for d in datas]
    offsets = np.cumsum([0] + sizes[:-1])
    torch.testing.assert_close(
        lig[K.TOR_BONDS], torch.cat([d[K.LIGAND][K.TOR_BONDS] + o for d, o in zip(datas, offsets)])
    )
    mask = lig[K.TOR_MASK]
    assert mask.shape == (sum(d[K.LIGAND][K.TOR_BONDS].shape[0] for d in datas), sum(sizes))
    row = 0
    for d, o, n in zip(datas, offsets, sizes):
        t = d[K.LIGAND][K.TOR_MASK]
        assert torch.equal(mask[row:row + len(t), o:o + n], t)
        assert not mask[row:row + len(t)].sum() - t.sum()  # nothing outside the block
        row += len(t)
    # each bond's atoms belong to the same complex as its mask
    assert torch.equal(lig.batch[lig[K.TOR_BONDS][:, 0]], lig.batch[lig[K.TOR_BONDS][:, 1]])
    assert batch[K.NAME] == [d[K.NAME] for d in datas]
    assert len(batch[K.MOL]) == len(datas)
    assert batch[K.POCKET_CENTER].shape == (len(datas), 3)
    assert batch[K.CRYSTAL_POS].shape == (sum(sizes), 3)
    rec_sizes = [d[K.RECEPTOR][K.POS].shape[0] for d in datas]
    ei = batch[K.RECEPTOR_EDGE][K.EDGE_INDEX]
    assert ei.max() < sum(rec_sizes)
    assert torch.equal(batch[K.RECEPTOR].batch[ei[0]], batch[K.RECEPTOR].batch[ei[1]])


def test_torsion_batch_twists_each_complex_like_alone(complexes):
    from discodock.geometry.torsion import apply_torsion_updates

    datas = [c[2] for c in complexes]
    batch = collate_complexes(datas)
    counts = [d[K.LIGAND][K.TOR_BONDS].shape[0] for d in datas]
    tb = torsion_batch(batch)
    assert torch.equal(tb, torch.repeat_interleave(torch.arange(len(datas)), torch.tensor(counts)))
    assert torch.equal(torsion_batch(datas[0]), torch.zeros(counts[0], dtype=torch.long))
    g = torch.Generator().manual_seed(0)
    delta = torch.rand(sum(counts), generator=g) * 6 - 3
    lig = batch[K.LIGAND]
    together = apply_torsion_updates(lig[K.POS], lig[K.TOR_BONDS], lig[K.TOR_MASK], delta, tor_batch=tb)
    alone = torch.cat([
        apply_torsion_updates(d[K.LIGAND][K.POS], d[K.LIGAND][K.TOR_BONDS], d[K.LIGAND][K.TOR_MASK], part)
        for d, part in zip(datas, delta.split(counts))
    ])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=0)


def test_collate_without_torsions():
    data = HeteroData()
    data[K.LIGAND][K.POS] = torch.zeros(2, 3)
    data[K.LIGAND][K.TOR_BONDS] = torch.zeros(0, 2, dtype=torch.long)
    data[K.LIGAND][K.TOR_MASK] = torch.zeros(0, 2, dtype=torch.bool)
    batch = collate_complexes([data, data])
    assert batch[K.LIGAND][K.TOR_BONDS].shape == (0, 2)
    assert batch[K.LIGAND][K.TOR_MASK].shape == (0, 4)
