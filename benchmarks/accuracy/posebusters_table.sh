#!/usr/bin/env bash
# The README's docking table: AutoDock Vina and discodock in pocket mode on the first N complexes (folder order)
# of the shared PoseBusters set, all into one folder, which then holds summary.md (the table), summary.json,
# per_complex.csv and rmsd_cdf.png (one curve per method). Re-running resumes: finished complexes are skipped.
#
#   bash benchmarks/accuracy/posebusters_table.sh [N=327] [OUT=runs/bench_posebusters_pocket]
#
# Rows: AutoDock Vina (every hetero group in its receptor, as measured 2026-11-28/29); discodock's shipped
# default spelled out (a Monte Carlo search on Vina's energy from 20 random starts, no diffusion samples;
# --keep-het auto); and the model's own poses, 10 samples with one Vina local optimisation each (the default
# before 2026-12-07), with latents from the AR prior, with oracle latents (from the crystal pose, the paper's
# upper bound), and from the m = 0 ablation model (plain DiffDock, same config, data and steps:
# checkpoints/v2_m0/weights.pt). Every method gets at most 60 min of wall time per complex (--timeout; the
# slowest Vina run so far took 39 min), over which the complex counts as a miss.
set -euo pipefail
N=${1:-327}
OUT=${2:-runs/bench_posebusters_pocket}
DATA=../shared/data/posebusters_benchmark_set
WEIGHTS=discodock/weights
COMMON=(--data "$DATA" --ids data/splits/test_posebusters.txt --pocket --limit "$N" --out "$OUT" --seed 0 --timeout 60)
discodock benchmark --method vina "${COMMON[@]}" --samples 10 --workers 1 --threads 1 --exhaustiveness 8 --keep-het all
discodock benchmark --method discodock "${COMMON[@]}" --samples 0 --refine search --random-starts 20 --workers 1 --threads 1
OWN=(--samples 10 --refine vina --keep-het all --workers 2)
discodock benchmark --method discodock --checkpoint "$WEIGHTS/discodock_cpu.pt" --latents prior "${COMMON[@]}" "${OWN[@]}"
discodock benchmark --method discodock --checkpoint "$WEIGHTS/discodock_cpu.pt" --latents oracle "${COMMON[@]}" "${OWN[@]}"
discodock benchmark --method discodock --checkpoint checkpoints/v2_m0/weights.pt --latents none "${COMMON[@]}" "${OWN[@]}"
