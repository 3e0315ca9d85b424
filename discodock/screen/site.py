"""The docking site: a centre (discodock's pocket crop is taken around it) and a box (Vina's search box and
the grid maps that refinement reuses), both in Angstrom.

``--autobox-ligand REF`` works as smina/GNINA users expect: the centre is the reference ligand's heavy-atom
centroid, the box its extent about that centre plus ``AUTOBOX_ADD`` on every side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discodock.errors import InputError

AUTOBOX_ADD = 4.0  # Angstrom added on each side of the reference ligand (smina's --autobox_add default)
DEFAULT_BOX = 25.0  # Angstrom edge of the cube used when only a centre is given (Vina baseline's pocket box)


@dataclass(frozen=True)
class Site:
    center: tuple[float, float, float]
    size: tuple[float, float, float] = (DEFAULT_BOX, DEFAULT_BOX, DEFAULT_BOX)


def autobox(reference: str | Path, *, add: float = AUTOBOX_ADD) -> Site:
    """The site of a reference ligand file (.sdf, .mol2, .pdb): centroid and extent + ``add`` per side."""
    from discodock.data.parsing import load_ligand

    path = Path(reference)
    if not path.is_file():
        raise InputError(path, "autobox ligand file not found")
    mol = load_ligand(path)
    if mol.GetNumConformers() == 0:
        raise InputError(path, "autobox ligand has no 3D coordinates")
    xyz = np.asarray(mol.GetConformer().GetPositions(), dtype=float)
    lower, upper = xyz.min(0), xyz.max(0)
    center = xyz.mean(0)
    size = 2 * np.maximum(upper - center, center - lower) + 2 * add  # covers the ligand about its centroid
    return Site(center=tuple(float(v) for v in center), size=tuple(float(v) for v in size))


def site_from_args(*, pocket_center=None, autobox_ligand=None) -> Site | None:
    """``--pocket-center`` or ``--autobox-ligand`` (not both); None when neither is given."""
    if pocket_center is not None and autobox_ligand:
        raise InputError(autobox_ligand, "give either --pocket-center or --autobox-ligand, not both")
    if autobox_ligand:
        return autobox(autobox_ligand)
    if pocket_center is not None:
        return Site(center=tuple(float(v) for v in pocket_center))
    return None
