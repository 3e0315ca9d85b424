"""discodock.geometry: exact geometry of the ligand pose manifold (batched torch).

- ``rigid``: axis-angle <-> rotation matrix, Kabsch alignment, Haar-uniform rotations.
- ``so3``: the isotropic Gaussian on SO(3) (IGSO(3)): density, sampling, score, expected score norm.
- ``torus``: the wrapped normal on the circle: density, sampling, score, expected score norm.
- ``torsion``: twisting rotatable bonds, dihedral angles.
- ``kinematics``: a ligand's pose from translation, rotation and torsions (batched), with its analytic gradient.

Lookup tables (``so3``, ``torus``) are built on first use and cached in ``$DISCODOCK_CACHE`` (default
``~/.cache/discodock``); importing this package does no work.
"""
