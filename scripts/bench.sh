#!/usr/bin/env bash
# Performance figures: the criterion benchmark of the gate, then the end-to-end harness
# (examples/e2e_bench.rs) against moto on 127.0.0.1 with the release binary.
#   GUARDED_BENCH_CALLS=N  calls per row (default 1000)
# `scripts/bench.sh iam`: what the IAM guard's reads cost an attach (examples/iam_guard_cost.rs),
# beside the direct SDK calls, against moto.
# `scripts/bench.sh http`: the HTTP load benchmark (examples/http_load.rs) instead: 1, 16, 64 and
# 256 concurrent clients against `serve --http` and against a null HTTP server, with Redis on
# 127.0.0.1:6379 for the Redis-counted rows (GUARDED_LOAD_SECONDS, GUARDED_LOAD_CLIENTS).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = iam ]; then
  IAM_ONLY=1
fi
if [ "${1:-}" = http ]; then
  cargo build --release --bin guarded-aws-mcp --example http_load
  exec ./target/release/examples/http_load
fi
VENV=.testbed/venv
if ! "$VENV/bin/python" -c "import moto" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
"$VENV/bin/python" -c "
import sys, time, urllib.request
for _ in range(200):
    try: urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/', timeout=1); sys.exit(0)
    except Exception: time.sleep(0.1)
sys.exit('moto did not start')"
if [ "${IAM_ONLY:-}" = 1 ]; then
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    GUARDED_BENCH_ENDPOINT="http://127.0.0.1:$PORT" cargo run --release --example iam_guard_cost
  exit 0
fi
cargo build --release --bin guarded-aws-mcp
# The Redis rows use database 15 of the Redis on 127.0.0.1:6379 when it answers.
if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then export GUARDED_BENCH_REDIS=redis://127.0.0.1:6379/15; fi
cargo bench --bench decision -- --noplot 2>/dev/null | grep -E "policy decision|decision with|time:" || true
AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  GUARDED_BENCH_ENDPOINT="http://127.0.0.1:$PORT" cargo run --release --example e2e_bench
