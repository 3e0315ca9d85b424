"""Matching the atoms of two copies of one molecule by their element-labelled heavy-atom graphs.

A pose built from a SMILES has RDKit's canonical order while a crystal SDF has the deposited order, and
Vina's output comes back through PDBQT in yet another; reducing both to element-labelled graphs and taking a
substructure match of equal size maps one onto the other whatever the bond-order conventions (Kekule vs
aromatic), formal charges or hydrogens.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from discodock.errors import LigandError


def mol_name(mol: Chem.Mol) -> str | None:
    return mol.GetProp("_Name") if mol.HasProp("_Name") and mol.GetProp("_Name") else None


def element_graph(mol: Chem.Mol, *, heavy_only: bool = True) -> tuple[Chem.Mol, np.ndarray]:
    """The element-labelled graph of ``mol``: every kept atom becomes a bare atom of the same element and
    every bond between kept atoms a single bond.

    Returns the graph (an unsanitised RDKit Mol) and ``index``, the original atom index of each graph atom.
    With ``heavy_only`` hydrogens (and deuterium) are left out.
    """
    index = np.array(
        [a.GetIdx() for a in mol.GetAtoms() if not heavy_only or a.GetAtomicNum() > 1], dtype=np.int64
    )
    position = {int(i): k for k, i in enumerate(index)}
    graph = Chem.RWMol()
    for i in index:
        atom = Chem.Atom(mol.GetAtomWithIdx(int(i)).GetAtomicNum())
        atom.SetNoImplicit(True)  # no valence model: the graph is all we compare
        graph.AddAtom(atom)
    for bond in mol.GetBonds():
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if u in position and v in position:
            graph.AddBond(position[u], position[v], Chem.BondType.SINGLE)
    graph = graph.GetMol()
    graph.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(graph)
    return graph, index


def match_atoms(query: Chem.Mol, target: Chem.Mol, *, heavy_only: bool = True) -> np.ndarray:
    """Map the atoms of ``query`` onto the atoms of ``target`` by their element-labelled graphs.

    Returns ``m`` with one entry per kept atom of ``query`` (in ``query``'s order of kept atoms): the index
    in ``target`` of the atom it corresponds to. Raises :class:`LigandError` when the two graphs differ.
    """
    q_graph, q_index = element_graph(query, heavy_only=heavy_only)
    t_graph, t_index = element_graph(target, heavy_only=heavy_only)
    if q_graph.GetNumAtoms() != t_graph.GetNumAtoms() or q_graph.GetNumBonds() != t_graph.GetNumBonds():
        raise LigandError(
            mol_name(query),
            f"pose has {q_graph.GetNumAtoms()} atoms / {q_graph.GetNumBonds()} bonds, the reference "
            f"{t_graph.GetNumAtoms()} / {t_graph.GetNumBonds()} (heavy_only={heavy_only}): not the same molecule",
        )
    match = t_graph.GetSubstructMatch(q_graph, useChirality=False)
    if len(match) != q_graph.GetNumAtoms():
        raise LigandError(mol_name(query), "pose and reference ligand have different bond graphs")
    return t_index[np.asarray(match, dtype=np.int64)]
