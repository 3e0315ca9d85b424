#!/usr/bin/env bash
# Time per complex of discodock's shipped defaults against AutoDock Vina (exhaustiveness 8), one thread each, the
# methods interleaved per complex (each complex runs under both before the next starts), on N PoseBusters
# complexes drawn with a fixed seed (the first N in folder order are not typical: their ligands are larger).
# Pocket mode, a 25 A box for Vina. Run it with nothing else busy on the machine (no training). Re-running resumes.
#
#   bash benchmarks/accuracy/time_ratio.sh [N=30] [OUT=runs/time_ratio] [extra discodock benchmark options]
#
# OUT/summary.md then holds both methods' rows (median s / complex, top-1 < 2 A on these N); the ratio is the
# ratio of the medians. Each call docks one new complex; the model and Vina's receptor load outside the timed part.
set -euo pipefail
N=${1:-30}
OUT=${2:-runs/time_ratio}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$OUT"
python - "$N" > "$OUT/ids.txt" <<'PY'
import random, sys
ids = [line.strip() for line in open("data/splits/test_posebusters.txt") if line.strip()]
print("\n".join(random.Random(20261207).sample(ids, int(sys.argv[1]))))
PY
COMMON=(--data ../shared/data/posebusters_benchmark_set --ids "$OUT/ids.txt" --pocket --out "$OUT" --seed 0
        --workers 1 --threads 1 --no-posebusters --timeout 60)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for i in $(seq 1 "$N"); do
  discodock benchmark --method vina "${COMMON[@]}" --limit "$i" --exhaustiveness 8 > /dev/null
  discodock benchmark --method discodock "${COMMON[@]}" --limit "$i" "$@" > /dev/null
done
cat "$OUT/summary.md"
