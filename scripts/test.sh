#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs and starts what the tests need, then runs
# every test (unit, end-to-end, CLI, and the benchmarks once in test mode).
#
#   - moto's server (PyPI, pinned) in a venv under .testbed/, started on 127.0.0.1 on a free
#     port: the local AWS fake. LocalStack's community edition serves no Amazon MQ, so moto it is.
#   - RabbitMQ with its management (and shovel) plugins on 127.0.0.1: started if it is not
#     running, installed from Debian's packages if it is missing; the RabbitMQ tools are tested
#     against it.
#   - LocalStack's community runtime (PyPI localstack-core 4.13.1, the newest that runs on
#     Python 3.11; no Docker) in its own venv, on 127.0.0.1, with every outbound download and
#     event turned off: the IAM tests run a second time against it.
#   - redis-server (Debian's package; installed if missing): the HTTP tests start private Redis
#     servers on free loopback ports from it (two replicas sharing one; Redis stopped and
#     started again mid-run), so the machine's own Redis on 6379 is never touched.
#   - the end-to-end tests start their own small loopback fakes for what moto lacks, and run
#     every cargo-fuzz target's body over its seed corpus and 20 000 mutations (fuzz smoke).
#   - the MCP client matrix (tests/interop): the TypeScript SDK 1.x and 2.x and the MCP
#     Inspector CLI (npm ci from its package-lock.json) and the Python SDK (pip, pinned), each
#     against the real binary over stdio and HTTP.
#   - kubernetes-validate (PyPI, pinned with its dependencies) checks examples/kubernetes
#     against the Kubernetes schemas it bundles, offline and strictly.
#
# To run the suite against another endpoint (LocalStack Pro, a sandbox AWS account):
#   GUARDED_TEST_TARGET=localstack-pro GUARDED_TEST_AWS_ENDPOINT=http://127.0.0.1:4566 scripts/test.sh
#   GUARDED_TEST_TARGET=aws AWS_PROFILE=sandbox scripts/test.sh
# Tests whose API the target lacks are reported as ignored, with the reason.
#
# Extra arguments go to `cargo test` (for example a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

TESTBED=.testbed
VENV="$TESTBED/venv"
MOTO_VERSION=5.2.5
mkdir -p "$TESTBED"

need_python() {
  command -v python3 >/dev/null 2>&1 || { echo "test.sh: python3 is required (for moto)" >&2; exit 1; }
}

if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  need_python
  echo "test.sh: installing moto[server]==$MOTO_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_http URL SECONDS NAME LOG: until URL answers, or fail naming NAME and its log.
wait_http() {
  "$VENV/bin/python" - "$@" <<'PY'
import sys, time, urllib.request
url, seconds, name, log = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(f"test.sh: {name} did not start; see {log}")
PY
}
# Every process this run starts carries GUARDED_TEST_RUN in its environment, so the cleanup
# finds them all (services, what the tests spawn, what re-parented itself to PID 1) and the
# run checks at its end that none is left. Services run in process groups of their own and
# are stopped in order: TERM, a grace period, then KILL (LocalStack ignores TERM and INT).
GUARDED_TEST_RUN="$$-$(date +%s%N)"
export GUARDED_TEST_RUN
GROUPS_STARTED=()
# start_service NAME LOG COMMAND...: runs COMMAND in a new process group, output to LOG.
start_service() {
  local name=$1 log=$2; shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  GROUPS_STARTED+=("$!:$name")
}
group_alive() { kill -0 -- "-$1" 2>/dev/null; }
# run_processes: PIDs of live processes (not zombies) whose environment names this run.
run_processes() {
  local self=$$ dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = "$self" ] && continue
    [ "$pid" = "$BASHPID" ] && continue
    grep -qsz "^GUARDED_TEST_RUN=$GUARDED_TEST_RUN\$" "$dir/environ" 2>/dev/null || continue
    [ "$(awk '{print $3}' "$dir/stat" 2>/dev/null)" = Z ] && continue
    echo "$pid"
  done
}
stop_everything() {
  local entry pgid name i pids
  trap - EXIT INT TERM
  for entry in "${GROUPS_STARTED[@]}"; do
    pgid=${entry%%:*}; name=${entry#*:}
    group_alive "$pgid" || continue
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for i in $(seq 1 50); do group_alive "$pgid" || break; sleep 0.1; done
    if group_alive "$pgid"; then
      echo "test.sh: $name did not stop within 5 s of SIGTERM; sending SIGKILL" >&2
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  done
  if [ "$RABBIT_STARTED" = 1 ]; then
    rabbitmqctl -q stop >/dev/null 2>&1 || true
  fi
  # Anything else of this run (a test's child that outlived it, a service that left its group).
  pids=$(run_processes)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 1 30); do pids=$(run_processes); [ -z "$pids" ] && break; sleep 0.1; done
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  fi
  pids=$(run_processes)
  if [ -n "$pids" ]; then
    echo "test.sh: processes of this run still running after SIGKILL:" >&2
    ps -o pid,ppid,stat,args -p "$(echo $pids | tr ' ' ,)" >&2 || true
    return 1
  fi
  echo "test.sh: every process this run started has stopped" >&2
}
RABBIT_STARTED=0
on_exit() {
  local rc=$?
  stop_everything || { [ "$rc" = 0 ] && rc=1; }
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(free_port)
start_service moto "$TESTBED/moto.log" \
  env MOTO_IAM_LOAD_MANAGED_POLICIES=true "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT"

wait_http "http://127.0.0.1:$PORT/moto-api/" 20 moto "$TESTBED/moto.log"
echo "test.sh: moto $MOTO_VERSION on http://127.0.0.1:$PORT" >&2

# RabbitMQ: installed, running, management and shovel plugins enabled, API answering.
RABBIT_API=http://127.0.0.1:15672
rabbit_api_up() {
  "$VENV/bin/python" - "$RABBIT_API" <<'PY'
import base64, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/overview", headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
try:
    urllib.request.urlopen(req, timeout=2)
except Exception:
    sys.exit(1)
PY
}
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing rabbitmq-server from Debian's packages" >&2
    mkdir -p /etc/rabbitmq
    printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\nmanagement.tcp.port = 15672\n' >/etc/rabbitmq/rabbitmq.conf
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null
  else
    echo "test.sh: RabbitMQ is not installed and cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
fi
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  echo "test.sh: starting RabbitMQ" >&2
  ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached
  RABBIT_STARTED=1
  rabbitmqctl -q await_startup --timeout 60
fi
if ! rabbit_api_up; then
  echo "test.sh: enabling RabbitMQ's management and shovel plugins" >&2
  rabbitmq-plugins -q enable rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management >/dev/null
else
  rabbitmq-plugins -q enable rabbitmq_shovel rabbitmq_shovel_management >/dev/null
fi
for _ in $(seq 1 120); do rabbit_api_up && break; sleep 0.5; done
rabbit_api_up || { echo "test.sh: RabbitMQ's management API did not answer on $RABBIT_API" >&2; exit 1; }
echo "test.sh: RabbitMQ management API on $RABBIT_API" >&2
export GUARDED_TEST_RABBITMQ_URL="$RABBIT_API"

# redis-server, for the replicas-sharing-Redis tests.
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing redis-server from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null
  else
    echo "test.sh: redis-server is not installed and cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
fi
GUARDED_TEST_REDIS_SERVER="$(command -v redis-server)"
export GUARDED_TEST_REDIS_SERVER
echo "test.sh: $("$GUARDED_TEST_REDIS_SERVER" --version | cut -d' ' -f1-3) for private test servers" >&2

# LocalStack community, for the second IAM run and the audit shipping run (CloudWatch Logs).
LS_VENV="$TESTBED/localstack-venv"
LS_VERSION=4.13.1
if ! "$LS_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('localstack-core') != '$LS_VERSION')" 2>/dev/null; then
  echo "test.sh: installing localstack-core $LS_VERSION into $LS_VENV" >&2
  python3 -m venv "$LS_VENV"
  "$LS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "localstack-core[runtime]==$LS_VERSION" 'cbor2<6' 'pyopenssl>=25.1,<26' 'cryptography>=45.0.7,<47' service_identity
fi
LS_PORT=$(free_port)
mkdir -p "$TESTBED/localstack"
# GATEWAY_SERVER=hypercorn honours GATEWAY_LISTEN's host; DNS_ADDRESS=0 keeps port 53 free;
# the SKIP_/DISABLE_ settings stop every download and event it would send off the machine.
start_service LocalStack "$TESTBED/localstack.log" \
  env GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$LS_PORT" DNS_ADDRESS=0 SERVICES=iam,sts,logs \
  SKIP_SSL_CERT_DOWNLOAD=1 SKIP_INFRA_DOWNLOADS=1 DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$PWD/$TESTBED/localstack" \
  "$LS_VENV/bin/python" -m localstack.runtime.main
wait_http "http://127.0.0.1:$LS_PORT/_localstack/health" 30 LocalStack "$TESTBED/localstack.log"
echo "test.sh: LocalStack $LS_VERSION on http://127.0.0.1:$LS_PORT" >&2

export GUARDED_TEST_MOTO_ENDPOINT="http://127.0.0.1:$PORT"
export GUARDED_TEST_MOTO_BIN="$PWD/$VENV/bin/moto_server"
if [ "${GUARDED_TEST_TARGET:-moto}" != aws ]; then
  # Never let a test reach real AWS, whatever the caller's environment holds.
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true
fi

# The MCP client matrix: the TypeScript SDK 1.x and 2.x and the MCP Inspector CLI from
# tests/interop/package-lock.json, and the Python SDK pinned here, each in its own folder.
INTEROP_VENV="$TESTBED/interop-venv"
MCP_PY_VERSION=2.3.0
if [ $# -eq 0 ]; then
  command -v node >/dev/null 2>&1 || { echo "test.sh: node (20 or later) is required for the client matrix" >&2; exit 1; }
  if ! (cd tests/interop && npm ls --depth=0 >/dev/null 2>&1); then
    # `npm ci` installs exactly what the committed lockfile says, never rewrites it, and fetches
    # only this platform's packages: other platforms' optional packages are locked (so the lock
    # is complete) but not downloaded, whatever the registry serves of them today.
    echo "test.sh: installing the client matrix's npm packages with npm ci from tests/interop/package-lock.json" >&2
    (cd tests/interop && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || {
      echo "test.sh: npm ci refused tests/interop/package-lock.json (the reason is above); if package.json changed on purpose, run 'cd tests/interop && npm install --package-lock-only --ignore-scripts' and commit the lockfile" >&2
      exit 1
    }
  fi
  git diff --quiet -- tests/interop/package-lock.json 2>/dev/null \
    || { echo "test.sh: tests/interop/package-lock.json differs from the committed one; the run would not use the locked versions" >&2; exit 1; }
  if ! "$INTEROP_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_PY_VERSION')" 2>/dev/null; then
    echo "test.sh: installing mcp==$MCP_PY_VERSION (the Python SDK) into $INTEROP_VENV" >&2
    python3 -m venv "$INTEROP_VENV"
    "$INTEROP_VENV/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_PY_VERSION"
  fi
fi

start=$(date +%s)
cargo test --all-targets "$@"
echo "test.sh: main run (target ${GUARDED_TEST_TARGET:-moto}) took $(( $(date +%s) - start ))s" >&2

if [ $# -eq 0 ]; then
  start=$(date +%s)
  echo "test.sh: the client matrix (TypeScript SDK 1.x and 2.x, Inspector CLI, Python SDK)" >&2
  export GUARDED_BIN="$PWD/target/debug/guarded-aws-mcp"
  node tests/interop/matrix.mjs
  "$INTEROP_VENV/bin/python" tests/interop/python_client.py
  echo "test.sh: client matrix took $(( $(date +%s) - start ))s" >&2
fi

# The Kubernetes example, against the Kubernetes schemas offline (kubernetes-validate bundles
# them), strictly: an unknown field is an error. Pinned with every dependency.
K8S_VENV="$TESTBED/k8s-venv"
K8S_VALIDATE_VERSION=1.37.0
if [ $# -eq 0 ]; then
  if ! "$K8S_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$K8S_VALIDATE_VERSION')" 2>/dev/null; then
    echo "test.sh: installing kubernetes-validate==$K8S_VALIDATE_VERSION into $K8S_VENV" >&2
    python3 -m venv "$K8S_VENV"
    "$K8S_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "kubernetes-validate==$K8S_VALIDATE_VERSION" "jsonschema==4.26.0" "jsonschema-specifications==2025.9.1" \
      "referencing==0.37.0" "rpds-py==2026.9.1" "attrs==26.1.0" "PyYAML==6.0.4" \
      "importlib_resources==7.1.0" "packaging==26.4" "typing_extensions==4.16.0"
  fi
  echo "test.sh: examples/kubernetes against the Kubernetes $K8S_VALIDATE_VERSION schemas" >&2
  "$K8S_VENV/bin/kubernetes-validate" --strict --quiet examples/kubernetes/*.yaml
fi

if [ $# -eq 0 ]; then
  start=$(date +%s)
  echo "test.sh: the IAM tests again, against LocalStack" >&2
  GUARDED_TEST_TARGET=localstack GUARDED_TEST_AWS_ENDPOINT="http://127.0.0.1:$LS_PORT" \
    cargo test --test e2e -- iam_tools::
  echo "test.sh: audit shipping again, against LocalStack's CloudWatch Logs" >&2
  GUARDED_TEST_TARGET=localstack GUARDED_TEST_AWS_ENDPOINT="http://127.0.0.1:$LS_PORT" \
    cargo test --test e2e -- shipping::
  echo "test.sh: LocalStack run took $(( $(date +%s) - start ))s" >&2
fi
