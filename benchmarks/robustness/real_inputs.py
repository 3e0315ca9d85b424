"""Real-world inputs at scale: a 100-row CSV batch with 10 bad rows (killed once and resumed), and huge inputs
(a 200,000-atom assembly, a 200-heavy-atom ligand) with their wall time and peak memory.

    python benchmarks/robustness/real_inputs.py --out runs/real_inputs [--rows 100] [--kill-after 120] [--skip-batch]

Needs ../shared/data (the PDBbind subset, a training set). Each step runs `python -m discodock.cli` in a child
process; peak memory is that child's maximum resident set size. Prints what it measured.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def run(cmd: list[str], *, kill_after: float | None = None) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS MiB of this child, stderr tail) of ``python -m discodock.cli ...``;
    the child is killed (SIGKILL) after ``kill_after`` seconds."""
    import tempfile
    import threading

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "discodock.cli", *cmd], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        timer = threading.Timer(kill_after, proc.send_signal, (signal.SIGKILL,)) if kill_after else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage
        if timer:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-600:]
    return proc.returncode, wall, usage.ru_maxrss / 1024, tail


def bad_rows(folder: Path) -> list[list[str]]:
    """Ten bad rows of different kinds (complex_name, protein_path, ligand, pocket_center)."""
    good_protein = str(next(iter(sorted((SHARED / "pdbbind_subset213").glob("*/*_protein.pdb.gz")))))
    het_only = folder / "het_only.pdb"
    het_only.write_text("HETATM    1 ZN    ZN A 901      10.000  10.000  10.000  1.00 20.00          ZN\nEND\n")
    not_text = folder / "not_text.pdb"
    not_text.write_bytes(b"ATOM      1  CA  \xff\xfeA A   1      10.000  10.000  10.000  1.00 20.00           C\nEND\n")
    truncated = folder / "truncated.pdb.gz"
    truncated.write_bytes(gzip.compress(Path(good_protein).read_bytes() if not good_protein.endswith(".gz")
                                        else gzip.decompress(Path(good_protein).read_bytes()))[:2000])
    empty_sdf = folder / "empty.sdf"
    empty_sdf.write_text("")
    c = "0,0,0"
    return [
        ["bad_missing_protein", str(folder / "absent.pdb"), "CCO", c],
        ["bad_smiles", good_protein, "C1CC(", c],
        ["bad_only_ions", good_protein, "[Na+].[Cl-]", c],
        ["bad_dummy_atom", good_protein, "*c1ccccc1", c],
        ["bad_centre", good_protein, "CCO", "1,2"],
        ["bad_het_only_receptor", str(het_only), "CCO", c],
        ["bad_not_text_receptor", str(not_text), "CCO", c],
        ["bad_truncated_gzip", str(truncated), "CCO", c],
        ["bad_huge_ligand", good_protein, "C" * 199 + "O", c],
        ["bad_empty_sdf", good_protein, str(empty_sdf), c],
    ]


def write_batch(folder: Path, n_rows: int) -> Path:
    from rdkit import Chem

    rows = []
    for lig in sorted((SHARED / "pdbbind_subset213").glob("*/*_ligand.sdf"))[: n_rows - 10]:
        cid = lig.parent.name
        mol = Chem.MolFromMolFile(str(lig))
        if mol is None:
            continue
        centre = ",".join(f"{v:.3f}" for v in mol.GetConformer().GetPositions().mean(0))
        rows.append([cid, str(lig.parent / f"{cid}_protein.pdb.gz"), str(lig), centre])
    bad = bad_rows(folder)
    step = max(1, len(rows) // len(bad))
    for k, row in enumerate(bad):  # spread through the batch
        rows.insert(k * (step + 1), row)
    path = folder / "batch.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["complex_name", "protein_path", "ligand", "pocket_center"])
        writer.writerows(rows)
    return path


def huge_assembly(folder: Path, target_atoms: int = 200_000) -> Path:
    """Copies of a real protein side by side (60 A apart) until ``target_atoms``, written as mmCIF."""
    import gemmi

    src = SHARED / "astex_diverse_set" / "1OF6_DTY" / "1OF6_DTY_protein.pdb.gz"
    st = gemmi.read_structure(str(src))
    st.remove_ligands_and_waters()
    base = st[0]
    n = base.count_atom_sites()
    model = gemmi.Model("1")
    names = iter(f"{a}{b}" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    copies = -(-target_atoms // n)
    for k in range(copies):
        for ch in base:
            c = ch.clone()
            c.name = next(names)
            for r in c:
                for a in r:
                    a.pos = gemmi.Position(a.pos.x + 60.0 * (k % 4), a.pos.y + 60.0 * (k // 4), a.pos.z)
            model.add_chain(c)
    out = gemmi.Structure()
    out.add_model(model)
    out.setup_entities()
    path = folder / "assembly_200k.cif"
    out.make_mmcif_document().write_file(str(path))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/real_inputs")
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--kill-after", type=float, default=120.0, help="seconds before the first run is killed")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-huge", action="store_true")
    args = ap.parse_args()
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # crystal SDFs flagged 2D with 3D coordinates: harmless chatter
    folder = Path(args.out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    common = ["--samples", "2", "--refine", "none", "--rank", "confidence", "--quiet"]

    if not args.skip_huge:
        cif = huge_assembly(folder)
        import gemmi

        n_atoms = gemmi.read_structure(str(cif))[0].count_atom_sites()
        print(f"assembly: {cif.name}, {n_atoms} atoms, {cif.stat().st_size / 2**20:.0f} MiB")
        ligand = str(SHARED / "astex_diverse_set" / "1OF6_DTY" / "1OF6_DTY_ligand.sdf")
        from rdkit import Chem

        centre = ",".join(f"{v:.3f}" for v in Chem.MolFromMolFile(ligand).GetConformer().GetPositions().mean(0))
        for label, extra in (("pocket", ["--pocket-center", centre]), ("blind", [])):
            code, wall, peak, err = run(["dock", "--protein", str(cif), "--ligand", ligand, "--out",
                                         str(folder / f"huge_{label}"), *common, *extra])
            print(f"200k-atom assembly, {label}: exit {code}, {wall:.1f} s, peak RSS {peak:.0f} MiB; "
                  f"{err.strip().splitlines()[-1] if err.strip() else ''}")
        code, wall, peak, err = run(["dock", "--protein", str(cif), "--ligand", "C" * 199 + "O", "--pocket-center",
                                     centre, "--out", str(folder / "huge_ligand"), *common])
        print(f"200-heavy-atom ligand: exit {code}, {wall:.1f} s, peak RSS {peak:.0f} MiB; {err.strip()}")

    if not args.skip_batch:
        csv_path = write_batch(folder, args.rows)
        n = sum(1 for _ in open(csv_path)) - 1
        cmd = ["dock", "--csv", str(csv_path), "--out", str(folder / "batch"), *common]
        code, wall, _, _ = run(cmd, kill_after=args.kill_after)
        summary = folder / "batch" / "summary.csv"
        journal = folder / "batch" / "batch_journal.jsonl"  # the batch's resume record (discodock.screen.journal)

        def docked_ok() -> set[str]:
            import json

            lines = journal.read_text().splitlines() if journal.exists() else []
            return {r["complex_name"] for r in map(json.loads, filter(None, lines)) if r["status"] == "ok"}

        before = docked_ok()
        print(f"batch of {n} rows: killed after {wall:.0f} s with {len(before)} rows docked in the journal (exit {code})")
        code, wall, _, _ = run(cmd)
        rows = list(csv.DictReader(open(summary)))
        ok = [r for r in rows if r["status"] == "ok"]
        kept = [r for r in ok if r["complex_name"] in before]
        errors = [r for r in rows if r["status"] != "ok"]
        print(f"re-run: exit {code}, {wall:.0f} s; {len(ok)} ok ({len(kept)} kept from the killed run, not "
              f"re-docked), {len(errors)} errors:")
        for r in errors:
            print(f"  {r['complex_name']}: {r['status'][:160]}")


if __name__ == "__main__":
    main()
