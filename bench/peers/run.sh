#!/usr/bin/env bash
# bench/peers/run.sh: qunzhu's matcher and the npm mint-filter (Aho–Corasick) side by side, on
# the same 10,000 lexicon terms and the same messages, one message at a time (issue 8: >= 10x).
# mint-filter comes from npm at the version in package-lock.json (npm ci).
#
# Usage: bench/peers/run.sh [CORPUS]   (label<TAB>text; default ../shared/data/ads-zh-game/
#        train.txt when present, else the benchmark's synthetic chat)
# Environment: QZ_BUILD_DIR (default build/release, with the benchmarks built).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${QZ_BUILD_DIR:-$ROOT/build/release}
BENCH=$BUILD/bench/qz_moderation_bench
CORPUS=${1:-$ROOT/../shared/data/ads-zh-game/train.txt}
if [ ! -x "$BENCH" ]; then
  echo "run.sh: $BENCH is missing: cmake --preset release && cmake --build build/release" >&2
  exit 1
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "run.sh: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 1
}
(cd "$ROOT/bench/peers" && npm ci --no-audit --no-fund --loglevel=error)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
corpus_args=()
if [ -f "$CORPUS" ]; then corpus_args=(--corpus "$CORPUS"); else echo "corpus $CORPUS absent: synthetic chat"; fi
"$BENCH" "${corpus_args[@]}" --sections f --peer-dir "$scratch" | tee "$scratch/ours"
node "$ROOT/bench/peers/mint_filter.js" "$scratch/lexicon.txt" "$scratch/corpus.txt" | tee "$scratch/peer"
rate() { grep '^(f)' "$1" | sed -E 's/.*message by message: ([0-9]+) messages\/s.*/\1/'; }
ours=$(rate "$scratch/ours")
peer=$(rate "$scratch/peer")
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "(f) qunzhu / mint-filter: %.1fx (target >= 10x)\n", a / b }'
