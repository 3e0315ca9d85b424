#!/usr/bin/env bash
# The README's time-split table: AutoDock Vina and discodock in blind mode (no site given: Vina searches a box
# over the whole protein, discodock uses its blind weights and the whole receptor), as the DiffDock and
# DisCo-Diff papers ran, on the first N rows of data/splits/test_timesplit.txt (the 301 time-split test
# complexes in ../shared/data). Everything goes into one folder: summary.md (the table), summary.json,
# per_complex.csv, rmsd_cdf.png. Re-running resumes: finished complexes are skipped.
#
#   bash benchmarks/accuracy/timesplit_table.sh [N=301] [OUT=runs/bench_timesplit_blind]
#
# discodock rows: the default blind route (the shipped site predictor, then the shipped pocket pipeline with its
# own defaults in each of the 4 most likely sites, poses ranked together by Vina score); the shipped
# whole-receptor blind weights with latents from the AR prior, and with oracle latents (from the crystal pose,
# the paper's upper bound); and the blind m = 0 model (same config, data and steps, no latents). Vina blind
# costs about a minute per complex on one thread (median 59 s over the 301), some up to 38 min; every method
# gets at most 60 min of wall time per complex (--timeout), over which the complex counts as a miss: a few
# time-split ligands have 50 rotatable bonds and 170 heavy atoms.
set -euo pipefail
N=${1:-301}
OUT=${2:-runs/bench_timesplit_blind}
DATA=(../shared/data/pdbbind_timesplit_test_dsdp ../shared/data/pdbbind_subset213)  # 290 + 11 of the 301 rows
WEIGHTS=discodock/weights/discodock_cpu_blind.pt
COMMON=(--data "${DATA[@]}" --ids data/splits/test_timesplit.txt --limit "$N" --out "$OUT" --seed 0 --timeout 60)
discodock benchmark --method vina "${COMMON[@]}" --samples 10 --workers 1 --threads 1 --exhaustiveness 8
discodock benchmark --method discodock --sites 4 "${COMMON[@]}" --workers 1 --threads 1
discodock benchmark --method discodock --checkpoint "$WEIGHTS" --latents prior "${COMMON[@]}" --samples 10 --workers 2
discodock benchmark --method discodock --checkpoint "$WEIGHTS" --latents oracle "${COMMON[@]}" --samples 10 --workers 2
discodock benchmark --method discodock --checkpoint checkpoints/blind_m0/weights.pt --latents none "${COMMON[@]}" --samples 10 --workers 2
