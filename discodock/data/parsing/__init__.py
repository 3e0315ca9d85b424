"""Reading receptors and ligands from files (and ligands from SMILES), with typed, one-line errors.

Receptors are reduced to amino-acid residues: each residue with a C-alpha becomes a node (its C-alpha,
backbone N and C, and its residue type). Waters, ions, cofactors and other hetero groups are dropped;
modified amino acids (MSE, SEP, ...) take their parent's type; amino acids of unknown chemistry that are
written as ATOM records become ``UNK``. Only the first model and the first alternate location are used.

Ligands are RDKit molecules with hydrogens removed; atom order, bond orders, formal charges and stereo of
the input are kept, so output poses can be written as the same molecule.
"""


from discodock.data.parsing.embeddings import load_embeddings
from discodock.data.parsing.files import LIGAND_SUFFIXES, PROTEIN_SUFFIXES
from discodock.data.parsing.ligand import WARNINGS_PROP, ligand_warnings, load_ligand, remove_hydrogens
from discodock.data.parsing.protein import MAX_RECEPTOR_ATOMS, Protein, load_protein, read_receptor_atoms

__all__ = [
    "LIGAND_SUFFIXES",
    "MAX_RECEPTOR_ATOMS",
    "PROTEIN_SUFFIXES",
    "WARNINGS_PROP",
    "Protein",
    "ligand_warnings",
    "load_embeddings",
    "load_ligand",
    "load_protein",
    "read_receptor_atoms",
    "remove_hydrogens",
]
