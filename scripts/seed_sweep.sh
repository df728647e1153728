#!/usr/bin/env bash
# Flakiness check: the whole default suite on N base seeds (default 20), both cores.
#
#   bash scripts/seed_sweep.sh [N [pytest arguments...]]
#
# Prints one line per seed and exits non-zero if any seed failed.
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
shift || true
failed=0
for seed in $(seq 0 $((n - 1))); do
  summary=$(python -m pytest -q -p no:cacheprovider -n 2 --seed "$seed" "$@" 2>&1 | tail -n 1)
  status=$?
  echo "seed $seed: $summary"
  if [ $status -ne 0 ] || ! grep -q " passed" <<<"$summary" || grep -qE "failed|error" <<<"$summary"; then failed=$((failed + 1)); fi
done
echo "$((n - failed)) passed, $failed failed (seeds)"
[ "$failed" -eq 0 ]
