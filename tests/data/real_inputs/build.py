"""Rebuild the small real-world input files in this folder (needs ../shared/data; run from the repo root).

    python tests/data/real_inputs/build.py

Every receptor is a crop of a real structure from the shared PDBbind-style sets (training/validation roles
only, never the test sets): the amino-acid residues with an atom within 10 A of the crystal ligand plus the
hetero groups (not water) within 16 A of its centroid, written by gemmi with the original names, numbers,
insertion codes, B-factors and hetero groups. The ligands are the crystal ligands (SDF) of those complexes.
Some files are then edited the way other tools write them (Amber names, altlocs, NMR models, AlphaFold
B-factors, missing side chains, salts); README.md in this folder lists each file and what was done.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import gemmi
import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

STANDARD = {"ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS", "MET", "PHE",
            "PRO", "SER", "THR", "TRP", "TYR", "VAL"}
SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
OUT = Path(__file__).resolve().parent

CROPS = {  # complex -> set (with what makes it interesting)
    "1G9V_RQ3": "astex_diverse_set",  # heme next to the site, sulfate
    "1GKC_NFH": "astex_diverse_set",  # zinc and calcium
    "1HQ2_PH2": "astex_diverse_set",  # Mg, Cl, acetate, an ATP analogue (APC)
    "1IA1_TQ3": "astex_diverse_set",  # NADPH (NDP) cofactor, phosphate
    "1K3U_IAD": "astex_diverse_set",  # PLP cofactor, sodium
    "1MMV_3AR": "astex_diverse_set",  # heme, tetrahydrobiopterin, zinc, acetate
    "1JD0_AZM": "astex_diverse_set",  # insertion codes, zinc (carbonic anhydrase numbering)
    "1LPZ_CMB": "astex_diverse_set",  # insertion codes (chymotrypsin numbering), calcium
    "1KZK_JE2": "astex_diverse_set",  # explicit hydrogens, chloride, ethylene glycol
    "1N1M_A3M": "astex_diverse_set",  # glycans (NAG, MAN, FUC...), mercury
    "1xjd": "pdbbind_subset213",  # phosphorylated residues TPO, SEP as HETATM
    "4e5w": "pdbbind_subset213",  # phosphotyrosine PTR
}


def crop(cid: str, set_name: str) -> tuple[gemmi.Structure, Chem.Mol]:
    folder = SHARED / set_name / cid
    st = gemmi.read_structure(str(folder / f"{cid}_protein.pdb.gz"))
    st.setup_entities()
    lig = Chem.MolFromMolFile(str(folder / f"{cid}_ligand.sdf"), removeHs=False)
    xyz = lig.GetConformer().GetPositions()
    centre = xyz.mean(0)
    model = st[0]
    for chain in model:
        for i in reversed(range(len(chain))):
            res = chain[i]
            pos = np.array([a.pos.tolist() for a in res])
            polymer = gemmi.find_tabulated_residue(res.name) is not None and \
                gemmi.find_tabulated_residue(res.name).is_amino_acid()
            if res.is_water():
                keep = False
            elif polymer and res.name not in STANDARD:  # modified residues (TPO, SEP, PTR, ...): all kept
                keep = True
            elif polymer or res.het_flag == "A":
                near = np.linalg.norm(pos[:, None] - xyz[None], axis=-1).min()
                keep = near <= 10.0 or (res.seqid.icode != " " and near <= 16.0)  # insertion codes nearby too
            else:
                keep = np.linalg.norm(pos - centre, axis=1).min() <= 16.0
            if not keep:
                del chain[i]
    st.remove_empty_chains()
    return st, lig


def write_pdb(st: gemmi.Structure, path: Path, header: str = "") -> None:
    text = st.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))
    path.write_text(header + text)


def main() -> None:
    for cid, set_name in CROPS.items():
        st, lig = crop(cid, set_name)
        write_pdb(st, OUT / f"{cid}_crop.pdb")
        Chem.MolToMolFile(lig, str(OUT / f"{cid}_ligand.sdf"))

    # Amber-style names (as tleap / pdb4amber write them): HIS -> HIE/HID/HIP, disulfide CYS -> CYX, and one
    # protonated ASP/GLU/neutral LYS -> ASH/GLH/LYN.
    st, _ = crop("1GKC_NFH", "astex_diverse_set")
    names = iter(["HIE", "HID", "HIP"] * 50)
    protonated = {"ASP": "ASH", "GLU": "GLH", "LYS": "LYN"}  # the first of each
    for res in [r for ch in st[0] for r in ch]:
        if res.name == "HIS":
            res.name = next(names)
        elif res.name == "CYS":
            res.name = "CYX"
        elif res.name in protonated:
            res.name = protonated.pop(res.name)
    write_pdb(st, OUT / "amber_names_1gkc.pdb")

    # Alternate locations: every 3rd residue gets a second conformer B (occupancy 0.6, shifted 0.8 A) and A
    # drops to 0.4, so "highest occupancy" and "first listed" disagree.
    st, _ = crop("1LPZ_CMB", "astex_diverse_set")
    for k, res in enumerate(r for ch in st[0] for r in ch if r.het_flag == "A"):
        if k % 3:
            continue
        atoms = [res[i].clone() for i in range(len(res))]
        for a in res:
            a.altloc, a.occ = "A", 0.4
        for a in atoms:
            a.altloc, a.occ = "B", 0.6
            a.pos = gemmi.Position(a.pos.x + 0.8, a.pos.y, a.pos.z)
            res.add_atom(a)
    write_pdb(st, OUT / "altlocs_icodes_1lpz.pdb")

    # NMR-style: three models, the later ones shifted 1 A, hydrogens kept.
    st, _ = crop("1KZK_JE2", "astex_diverse_set")
    for shift in (1.0, 2.0):
        m = st[0].clone()
        m.num = len(st) + 1
        for ch in m:
            for r in ch:
                for a in r:
                    a.pos = gemmi.Position(a.pos.x + shift, a.pos.y, a.pos.z)
        st.add_model(m)
    write_pdb(st, OUT / "nmr_models_1kzk.pdb")

    # AlphaFold-style: no hetero groups, no waters, B-factor column = pLDDT, AlphaFold's header line.
    st, _ = crop("1IA1_TQ3", "astex_diverse_set")
    rng = np.random.default_rng(0)
    for ch in st[0]:
        for i in reversed(range(len(ch))):
            if ch[i].het_flag == "H":
                del ch[i]
                continue
            plddt = float(rng.uniform(45, 98))
            for a in ch[i]:
                a.b_iso = plddt
    write_pdb(st, OUT / "alphafold_style_1ia1.pdb",
              header="TITLE     ALPHAFOLD MONOMER V2.0 PREDICTION FOR A CROP (STYLE ONLY)\n")

    # Missing side-chain atoms (truncated lysines / glutamates as deposited when density is weak).
    st, _ = crop("1K3U_IAD", "astex_diverse_set")
    for r in (r for ch in st[0] for r in ch):
        if r.name in ("LYS", "GLU", "ARG"):
            for i in reversed(range(len(r))):
                if r[i].name not in ("N", "CA", "C", "O", "CB"):
                    del r[i]
    write_pdb(st, OUT / "missing_sidechains_1k3u.pdb")

    # mmCIF of a cofactor-bound crop.
    st, _ = crop("1MMV_3AR", "astex_diverse_set")
    st.setup_entities()
    st.make_mmcif_document().write_file(str(OUT / "1MMV_3AR_crop.cif"))

    # Ligand files: a salt in one SDF record, a multi-record SDF.
    lig = Chem.MolFromMolFile(str(OUT / "1JD0_AZM_ligand.sdf"))
    ion = Chem.AddHs(Chem.MolFromSmiles("[Na+]"))
    AllChem.EmbedMolecule(ion, randomSeed=0)
    salt = Chem.CombineMols(lig, ion)
    conf = salt.GetConformer()
    centre = lig.GetConformer().GetPositions().mean(0)
    conf.SetAtomPosition(salt.GetNumAtoms() - 1, (centre + np.array([6.0, 0.0, 0.0])).tolist())
    Chem.MolToMolFile(salt, str(OUT / "salt_1jd0_ligand.sdf"))
    with Chem.SDWriter(str(OUT / "two_records.sdf")) as w:
        w.write(Chem.MolFromMolFile(str(OUT / "1GKC_NFH_ligand.sdf")))
        w.write(lig)


def compress() -> None:
    """Structures are stored gzipped (the readers take .pdb.gz / .cif.gz as they are)."""
    for path in sorted(OUT.glob("*.pdb")) + sorted(OUT.glob("*.cif")):
        data = path.read_bytes()
        with open(path.with_name(path.name + ".gz"), "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
            gz.write(data)
        path.unlink()


if __name__ == "__main__":
    main()
    compress()
