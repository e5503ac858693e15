#!/usr/bin/env bash
# bench/webhooks.sh: webhook ingestion (issue 10's target: >= 10k updates/s, p99 < 10 ms to
# durable). `qunzhu serve` on a loopback port with a Telegram bot in webhook mode and a OneBot
# account; qz_http_load posts one update per request as each platform would (Telegram's secret
# token header; OneBot's X-Signature HMAC computed per body), and, side by side in the same
# run, single events through POST /api/v1/events as the baseline. Each at once closed-loop
# (throughput), then open-loop at --rate requests/s (latency from the scheduled send; answers
# come once the update is durable).
#
# Usage: bench/webhooks.sh [--seconds S] [--rate R] [--connections N] [--sync full|normal]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${QZ_BUILD_DIR:-$ROOT/build/release}
QUNZHU=$BUILD/qunzhu
LOAD=$BUILD/bench/qz_http_load
SECONDS_=10 RATE=10000 CONNECTIONS=64 SYNC=full
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --sync) SYNC=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "webhooks.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
SCRATCH=$(mktemp -d /tmp/qz-webhooks-bench.XXXXXX)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$SCRATCH"' EXIT
cat > "$SCRATCH/node.toml" <<TOML
[storage]
sync = "$SYNC"
[platforms.telegram]
# No Bot API here: setWebhook keeps failing (and retrying) in the background; updates still come in.
api_root = "http://127.0.0.1:9"
mode = "webhook"
public_url = "https://bench.example.com"
webhook_secret = { env = "QZ_BENCH_TG_SECRET" }
[[platforms.telegram.bots]]
name = "main"
token = { env = "QZ_BENCH_TG_TOKEN" }
[platforms.qq]
self_id = "10001"
secret = { env = "QZ_BENCH_QQ_SECRET" }
TOML
export QZ_BENCH_TG_SECRET=bench-secret QZ_BENCH_TG_TOKEN=123:bench QZ_BENCH_QQ_SECRET=bench-key
"$QUNZHU" init --data "$SCRATCH/data" >/dev/null
"$QUNZHU" serve --config "$SCRATCH/node.toml" --data "$SCRATCH/data" --listen 127.0.0.1:0 \
  --port-file "$SCRATCH/port" >"$SCRATCH/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$SCRATCH/port" ] && break; sleep 0.1; done
PORT=$(cat "$SCRATCH/port")
TOKEN=$(cat "$SCRATCH/data/admin.token")
echo "qunzhu serve --sync $SYNC on 127.0.0.1:$PORT; $(nproc) cores; $(date -u +%FT%TZ)"
run() {  # run LABEL ARGS...
  local label=$1; shift
  local out
  out=$("$LOAD" --target "127.0.0.1:$PORT" --duration "$SECONDS_" --warmup 1 --connections "$CONNECTIONS" "$@" 2>&1 | tail -1)
  printf '%-34s %s\n' "$label" "$out"
}
for mode in closed open; do
  extra=()
  [ "$mode" = open ] && extra=(--rate "$RATE")
  run "api single events ($mode)" --token "$TOKEN" --events-per-request 1 --prefix "api-$mode" "${extra[@]}"
  run "telegram webhook ($mode)" --webhook telegram --secret bench-secret --path /webhooks/telegram/main \
    --prefix "tg-$mode" "${extra[@]}"
  run "onebot reports ($mode)" --webhook qq --secret bench-key --self-id 10001 --path /webhooks/qq \
    --prefix "qq-$mode" "${extra[@]}"
done
