"""Hetero groups of a receptor (cofactors, metals, other small molecules) and the ``--keep-het`` choice.

One choice decides which hetero groups (waters never) stay in the receptor:

- ``auto`` (default): metal ions and common cofactors (:data:`COFACTORS`) with an atom within
  :data:`AUTO_SITE_DISTANCE` of the docking site; without a site (blind docking), every metal and cofactor.
  Buffer components, sugars, detergents and other ligands are dropped.
- ``none``: no hetero group.
- ``all``: every hetero group except water.
- ``HEM,NAD,ZN``: exactly the residues of these names.

The choice is applied to the receptor that AutoDock Vina scores and refines against (and to the Vina baseline
of ``discodock benchmark``). The model's receptor graph has residue nodes only: the shipped networks were
trained on receptors without hetero groups, so a kept cofactor shapes the poses through Vina refinement and
ranking, not through the diffusion model. ``results.json`` lists what was kept and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from discodock.errors import ConfigError

# Metals are told by element (featurize.is_metal); these are the organic cofactors / prosthetic groups kept
# by ``auto``: hemes, nicotinamide and flavin nucleotides, nucleotides, CoA, SAM/SAH, PLP, TPP, biopterin,
# molybdopterin, iron-sulfur clusters, chlorophyll-like rings.
COFACTORS = frozenset({
    "HEM", "HEC", "HEA", "HEB", "HAS", "SRM", "NAD", "NAI", "NAP", "NDP", "NMN", "FAD", "FDA", "FMN", "FNR",
    "ATP", "ADP", "AMP", "ANP", "ACP", "APC", "AGS", "GTP", "GDP", "GNP", "GSP", "GMP", "UDP", "UTP", "CTP",
    "COA", "ACO", "SAM", "SAH", "SFG", "PLP", "PMP", "TPP", "TDP", "H4B", "BH4", "MTE", "MGD", "SF4", "FES",
    "F3S", "CLA", "BCL", "B12", "COB", "CNC", "TPQ", "PQQ", "BTN", "LPA", "GSH", "F42", "MQ7", "UQ1",
})
AUTO_SITE_DISTANCE = 10.0  # Angstrom, closest atom of a group to the docking site for ``auto``
WATERS = frozenset({"HOH", "WAT", "DOD", "H2O", "TIP", "TIP3", "SOL"})


@dataclass(frozen=True)
class HeteroGroup:
    """One hetero residue: name, where it is in the file, and its heavy-atom coordinates (Angstrom)."""

    name: str
    chain: str
    number: int
    icode: str
    elements: tuple[str, ...]
    xyz: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.name} {self.chain}{self.number}{self.icode}"

    @property
    def key(self) -> tuple[str, int, str, str]:
        """(chain, residue number, insertion code, name): how Vina's receptor writer identifies it."""
        return (self.chain, self.number, self.icode, self.name)

    @property
    def is_metal(self) -> bool:
        from discodock.data.featurize import is_metal

        return len(self.elements) == 1 and is_metal(self.elements[0].title())


def parse_keep_het(spec: str | None) -> str | frozenset[str]:
    """``auto`` / ``none`` / ``all`` or a frozenset of residue names from ``"HEM,NAD,ZN"``."""
    text = (spec or "auto").strip()
    if text.lower() in ("auto", "none", "all"):
        return text.lower()
    names = frozenset(n.strip().upper() for n in text.split(",") if n.strip())
    bad = [n for n in names if not (1 <= len(n) <= 5 and n.isalnum())]
    if not names or bad:
        raise ConfigError("--keep-het", f"expected auto, none, all or residue names like HEM,NAD,ZN; got {spec!r}")
    return names


def choose_hetero(groups, keep_het, *, site=None) -> tuple[list[HeteroGroup], list[HeteroGroup]]:
    """Split ``groups`` into (kept, dropped) by ``keep_het`` (a :func:`parse_keep_het` value or its text)
    and the docking ``site`` (Angstrom; None for blind docking)."""
    choice = parse_keep_het(keep_het) if isinstance(keep_het, str) and keep_het not in ("auto", "none", "all") \
        else keep_het
    kept, dropped = [], []
    for g in groups:
        if choice == "none":
            keep = False
        elif choice == "all":
            keep = True
        elif choice == "auto":
            keep = g.is_metal or g.name in COFACTORS
            if keep and site is not None and len(g.xyz):
                keep = float(np.min(np.linalg.norm(g.xyz - np.asarray(site, dtype=float), axis=1))) \
                    <= AUTO_SITE_DISTANCE
        else:
            keep = g.name in choice
        (kept if keep else dropped).append(g)
    return kept, dropped


def describe(kept, dropped) -> str:
    """One line for the run's warnings."""
    def names(gs):
        return ", ".join(g.label for g in gs[:12]) + (f" and {len(gs) - 12} more" if len(gs) > 12 else "")

    parts = []
    if kept:
        parts.append(f"kept for Vina {names(kept)}")
    if dropped:
        parts.append(f"dropped {names(dropped)}")
    return "hetero groups (not seen by the model, which uses residue nodes only): " + "; ".join(parts)
