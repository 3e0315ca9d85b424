#!/usr/bin/env bash
# Fuzz every reader in turn, SECONDS each (default 600), in libFuzzer's fork mode so native crashes, hangs
# (> 30 s per input) and memory blow-ups (> 2 GB) are caught and saved instead of ending the run.
#   bash tests/fuzz/run_all.sh [SECONDS] [OUT_DIR] [READER ...]
# Prints one line per reader: executions, coverage, and how many crashes / timeouts / OOMs were found;
# findings are saved as OUT_DIR/<reader>/art/crash-* (copy each into tests/fuzz/regressions/ once fixed).
set -u
cd "$(dirname "$0")/../.."
secs=${1:-600}; out=${2:-fuzz_out}; shift $(( $# > 2 ? 2 : $# ))
readers=${*:-pdb cif sdf mol2 smiles csv}
for r in $readers; do
  mkdir -p "$out/$r/corpus" "$out/$r/art"
  DISCODOCK_FUZZ_READER=$r OMP_NUM_THREADS=1 nice -n 19 python tests/fuzz/harness.py -fork=1 -ignore_crashes=1 \
    -timeout=30 -rss_limit_mb=2048 -max_total_time="$secs" -artifact_prefix="$out/$r/art/" \
    "$out/$r/corpus" "tests/fuzz/seeds/$r" > "$out/$r/log" 2>&1
  last=$(grep -E '^#[0-9]+' "$out/$r/log" | tail -1)
  echo "$r: $(date -u +%FT%TZ) ${secs}s: $last; saved findings: $(ls "$out/$r/art" | wc -l)"
done
