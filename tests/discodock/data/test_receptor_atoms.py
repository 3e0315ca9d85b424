"""Receptor atom nodes on a real complex: the right atoms (checked against gemmi directly), edges within their
cutoffs and caps, the crop that follows the site, and graphs without atoms unchanged."""

from __future__ import annotations

import dataclasses
import json
import hashlib
from pathlib import Path

import gemmi
import numpy as np
import pytest
import torch

from discodock.data import keys as K
from discodock.data.cache import complex_to_record, record_to_complex
from discodock.data.graph import build_complex, collate_complexes
from discodock.data.parsing import load_ligand, load_protein
from discodock.data.pocket import site_view
from discodock.data.prepare import FEATURE_VERSION, FeaturizationConfig
from discodock.data.cache import RECORD_FORMAT
from discodock.data.receptor_atoms import ATOM_ELEMENTS

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"
NAME = "3d6p"
POCKET, ATOMS, EDGE, CAP = 25.0, 10.0, 4.0, 6


@pytest.fixture(scope="module")
def inputs():
    protein = load_protein(EXAMPLES / NAME / f"{NAME}_protein.pdb.gz")
    ligand = load_ligand(EXAMPLES / NAME / f"{NAME}_ligand.sdf")
    crystal = torch.tensor(ligand.GetConformer().GetPositions(), dtype=torch.float32)
    return protein, ligand, crystal


@pytest.fixture(scope="module")
def graph(inputs):
    protein, ligand, crystal = inputs
    return build_complex(protein, ligand, crystal_pos=crystal, pocket_radius=POCKET, atom_radius=ATOMS,
                         atom_edge_radius=EDGE, atom_max_neighbours=CAP, name=NAME)


def gemmi_heavy_atoms(path: Path) -> tuple[np.ndarray, list[str]]:
    """Heavy atoms of the amino-acid residues that have a C-alpha, read with gemmi alone."""
    st = gemmi.read_structure(str(path))
    st.remove_alternative_conformations()
    pos, elements = [], []
    for chain in st[0]:
        for res in chain:
            info = gemmi.find_tabulated_residue(res.name)
            if info is None or not info.is_amino_acid() or res.find_atom("CA", "*") is None:
                continue
            for atom in res:
                if atom.element.name not in ("H", "D"):
                    pos.append(atom.pos.tolist())
                    elements.append(atom.element.name.upper())
    return np.asarray(pos), elements


def test_atom_nodes_are_the_heavy_atoms_near_the_site(graph):
    pos, elements = gemmi_heavy_atoms(EXAMPLES / NAME / f"{NAME}_protein.pdb.gz")
    center = graph[K.POCKET_CENTER].reshape(3).numpy()
    near = np.linalg.norm(pos - center, axis=1) < ATOMS
    atoms = graph[K.RECEPTOR_ATOM]
    assert atoms[K.POS].shape[0] == int(near.sum()) > 50
    assert ((atoms[K.POS] - graph[K.POCKET_CENTER]).norm(dim=1) < ATOMS).all()
    # each node is one of gemmi's atoms, with its element
    d = np.linalg.norm(atoms[K.POS].numpy()[:, None] - pos[near][None], axis=2)
    match = d.argmin(1)
    assert d.min(1).max() < 1e-3 and len(set(match.tolist())) == len(match)
    names = list(ATOM_ELEMENTS) + ["other"]
    got = [names[i] for i in atoms[K.X][:, : len(names)].argmax(1).tolist()]
    want = [e if e in ATOM_ELEMENTS else "other" for e in np.asarray(elements)[near][match]]
    assert got == want and {"C", "N", "O"} <= set(got)


def test_atom_edges_are_within_cutoffs_and_capped(graph):
    pos = graph[K.RECEPTOR_ATOM][K.POS]
    src, dst = graph[K.RECEPTOR_ATOM_EDGE][K.EDGE_INDEX]
    assert src.numel() > 0 and bool((src != dst).all())
    assert ((pos[src] - pos[dst]).norm(dim=1) < EDGE).all()
    assert torch.bincount(dst, minlength=pos.shape[0]).max() <= CAP
    # every atom is linked to its residue: a C-alpha atom sits exactly on its residue node
    atom, residue = graph[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX]
    assert torch.equal(atom, torch.arange(pos.shape[0]))
    is_ca = graph[K.RECEPTOR_ATOM][K.X][:, len(ATOM_ELEMENTS) + 2] == 1
    assert is_ca.sum() > 5
    torch.testing.assert_close(pos[is_ca], graph[K.RECEPTOR][K.POS][residue[is_ca]])
    assert ((pos - graph[K.RECEPTOR][K.POS][residue]).norm(dim=1) < 8.0).all()


def test_site_view_recrops_the_atoms_and_drops_them_without_a_radius(inputs, graph):
    offset = torch.tensor([1.5, -1.0, 0.5])
    view = site_view(graph, radius=18.0, offset=offset, atom_radius=7.0, atom_edge_radius=EDGE,
                     atom_max_neighbours=CAP)
    site = graph[K.POCKET_CENTER] + offset
    kept = view[K.RECEPTOR_ATOM][K.POS]
    assert ((kept - site).norm(dim=1) < 7.0).all()
    assert kept.shape[0] == int(((graph[K.RECEPTOR_ATOM][K.POS] - site).norm(dim=1) < 7.0).sum())
    residue = view[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX][1]
    assert ((kept - view[K.RECEPTOR][K.POS][residue]).norm(dim=1) < 8.0).all()
    assert graph[K.RECEPTOR_ATOM][K.POS].shape[0] > kept.shape[0]  # the original is untouched

    plain = site_view(graph, radius=18.0, offset=offset)
    assert K.RECEPTOR_ATOM not in plain.node_types and len(plain.edge_types) == 2
    protein, ligand, crystal = inputs
    without = build_complex(protein, ligand, crystal_pos=crystal, pocket_radius=POCKET, name=NAME)
    assert without.node_types == [K.LIGAND, K.RECEPTOR] and len(without.edge_types) == 2
    for store in (K.LIGAND, K.RECEPTOR, K.LIGAND_BOND, K.RECEPTOR_EDGE):
        for key, value in without[store].items():
            assert torch.equal(value, graph[store][key]), (store, key)


def test_atoms_survive_the_cache_record_and_batching(graph):
    again = record_to_complex(complex_to_record(graph))
    assert torch.equal(again[K.RECEPTOR_ATOM][K.POS], graph[K.RECEPTOR_ATOM][K.POS])
    assert torch.equal(again[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX], graph[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX])
    batch = collate_complexes([graph, again])
    n_res, n_atoms = graph[K.RECEPTOR][K.POS].shape[0], graph[K.RECEPTOR_ATOM][K.POS].shape[0]
    atom, residue = batch[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX]
    assert torch.equal(residue[n_atoms:], graph[K.ATOM_RESIDUE_EDGE][K.EDGE_INDEX][1] + n_res)
    assert torch.equal(atom[n_atoms:], torch.arange(n_atoms) + n_atoms)


def test_protein_select_keeps_each_atom_with_its_residue(inputs):
    protein = inputs[0]
    mask = np.arange(protein.num_residues) % 3 == 1
    sub = protein.select(mask)
    assert sub.atoms.pos.shape[0] == int(np.isin(protein.atoms.residue, np.nonzero(mask)[0]).sum())
    ca = np.array([n == "CA" for n in sub.atoms.names])
    np.testing.assert_allclose(sub.atoms.pos[ca], sub.ca[sub.atoms.residue[ca]])


def test_cache_key_without_atoms_is_the_one_from_before_atoms():
    cfg = FeaturizationConfig(pocket_radius=30.0, max_heavy_atoms=80)
    old = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "atom_radius"}
    payload = old | {"feature_version": FEATURE_VERSION, "record_format": RECORD_FORMAT}
    assert cfg.key() == hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    assert dataclasses.replace(cfg, atom_radius=22.0).key() != cfg.key()
