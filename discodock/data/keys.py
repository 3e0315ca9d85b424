"""Names and shapes of the fields of a complex graph, defined once.

A complex is a ``torch_geometric.data.HeteroData`` with two node types. Coordinates are in Angstrom, in
the protein's frame. N = ligand heavy atoms, R = receptor residues, B = ligand bonds (each stored in both
directions), T = rotatable bonds.

Ligand atoms  (``data[LIGAND]``)
  POS            [N, 3]  float  current pose (the crystal pose in training data before noising)
  X              [N, F]  float  atom features (see ``discodock.data.featurize``)
  TOR_BONDS      [T, 2]  long   atom indices (u, v) of each rotatable bond; the v side moves
  TOR_MASK       [T, N]  bool   True for atoms that move when bond t twists (the v side, v included)
Ligand bonds  (``data[LIGAND_BOND]``)
  EDGE_INDEX     [2, B]  long
  EDGE_ATTR      [B, E]  float  bond features (one-hot bond type, conjugated, in ring)
Receptor residues (``data[RECEPTOR]``)
  POS            [R, 3]  float  C-alpha
  X              [R, F]  float  residue features (one-hot residue type)
  N_POS, C_POS   [R, 3]  float  backbone N and C (local frames)
  SC_POS         [R, 3]  float  side-chain heavy-atom centroid (C-alpha for glycine)
  EMB            [R, D]  float  optional user-supplied per-residue embedding
Receptor edges (``data[RECEPTOR_EDGE]``)
  EDGE_INDEX     [2, E]  long   radius graph (15 A, <= 24 neighbours)

Receptor atoms (``data[RECEPTOR_ATOM]``, only with ``data.pocket_atoms``; see ``discodock.data.receptor_atoms``)
  POS            [A, 3]  float  heavy-atom coordinates (those within ``atom_radius`` of the site)
  X              [A, F]  float  one-hot element and atom-name class
Atom edges: ``data[RECEPTOR_ATOM_EDGE]`` EDGE_INDEX [2, E] (radius graph, capped); ``data[ATOM_RESIDUE_EDGE]``
  EDGE_INDEX [2, A] (atom, the residue it belongs to).

Graph-level attributes: NAME (str), MOL (the input RDKit Mol, bond orders and stereo kept, heavy atoms),
CRYSTAL_POS ([N, 3], when known), POCKET_CENTER ([1, 3]).
Batches are made by ``discodock.data.graph.collate_complexes`` (not PyG's default collate): it offsets
TOR_BONDS by the ligand atoms before it and makes TOR_MASK block-diagonal, [sum T, sum N].
Cross (ligand-receptor) edges and the ligand radius graph depend on the current pose and sigma, so the
model builds them on the fly.
"""

LIGAND = "ligand"
RECEPTOR = "receptor"
LIGAND_BOND = (LIGAND, "bond", LIGAND)
RECEPTOR_EDGE = (RECEPTOR, "near", RECEPTOR)
RECEPTOR_ATOM = "receptor_atom"
RECEPTOR_ATOM_EDGE = (RECEPTOR_ATOM, "near", RECEPTOR_ATOM)
ATOM_RESIDUE_EDGE = (RECEPTOR_ATOM, "in", RECEPTOR)

POS = "pos"
X = "x"
EDGE_INDEX = "edge_index"
EDGE_ATTR = "edge_attr"
TOR_BONDS = "tor_bonds"
TOR_MASK = "tor_mask"
N_POS = "n_pos"
C_POS = "c_pos"
SC_POS = "sc_pos"
EMB = "emb"

NAME = "name"
MOL = "mol"
CRYSTAL_POS = "crystal_pos"
POCKET_CENTER = "pocket_center"
