"""Write ``data/splits/val_pocket.txt`` and ``train_pocket.txt``: a validation split with no protein in common
with training.

The pool is ``train.txt`` + ``val.txt``. Every protein chain's sequence is clustered with MMseqs2 (Debian's
``mmseqs2``) at 30% identity and 80% coverage; complexes sharing a cluster are joined (connected
components), and whole components are held out, in a seeded random order, until at least ``--size``
complexes are held out. Components larger than ``--max-component`` are never held out (a family that large
belongs to training). Test rows are never in the pool.

    python tools/make_pocket_split.py --data ../shared/data --size 160
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def chain_sequences(folder: Path, cid: str) -> dict[str, str]:
    from discodock.data.parsing import load_protein
    from discodock.data.pdbbind import complex_files

    protein_path, _ = complex_files(folder, cid)
    return load_protein(protein_path).chain_sequences()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO / ".." / "shared" / "data"))
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--max-component", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--identity", type=float, default=0.3)
    args = p.parse_args()
    from discodock.data.pdbbind import index_complexes, read_split, resolve_ids

    splits = REPO / "data" / "splits"
    pool = read_split(splits / "train.txt") + read_split(splits / "val.txt")
    roots = sorted(str(d) for d in Path(args.data).iterdir() if d.is_dir() and d.name != "dude_screening")
    found, missing = resolve_ids(pool, index_complexes(roots))
    if missing:
        raise SystemExit(f"not found: {missing[:5]}")
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "chains.fasta"
        with fasta.open("w") as fh:
            for cid in pool:
                for chain, seq in chain_sequences(found[cid], cid).items():
                    if len(seq) >= 20:  # peptides and stray residues say nothing about the fold
                        fh.write(f">{cid}|{chain}\n{seq}\n")
        subprocess.run(["mmseqs", "easy-cluster", str(fasta), f"{tmp}/out", f"{tmp}/work",
                        "--min-seq-id", str(args.identity), "-c", "0.8", "--cov-mode", "1", "-v", "1",
                        "--threads", "1"], check=True)
        pairs = [line.split("\t") for line in Path(f"{tmp}/out_cluster.tsv").read_text().splitlines()]
    # Union-find over complexes: a chain cluster links every complex with a member in it.
    parent = {cid: cid for cid in pool}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rep, member in pairs:
        a, b = find(rep.split("|")[0]), find(member.split("|")[0])
        if a != b:
            parent[a] = b
    components: dict[str, list[str]] = {}
    for cid in pool:
        components.setdefault(find(cid), []).append(cid)
    comps = sorted((sorted(c) for c in components.values()), key=lambda c: c[0])
    random.Random(args.seed).shuffle(comps)
    held: list[str] = []
    for comp in comps:
        if len(held) >= args.size:
            break
        if len(comp) <= args.max_component:
            held += comp
    held_set = set(held)
    train = [cid for cid in pool if cid not in held_set]
    (splits / "val_pocket.txt").write_text("".join(f"{c}\n" for c in sorted(held)))
    (splits / "train_pocket.txt").write_text("".join(f"{c}\n" for c in train))
    print(f"pool {len(pool)}: {len(comps)} protein components; held out {len(held)} complexes in "
          f"{sum(1 for c in comps if set(c) <= held_set)} components; training {len(train)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
