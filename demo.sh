#!/usr/bin/env bash
# Herald's demo: etcd, the Marathon SIMULATOR, a Mesos master SIMULATOR (two masters),
# herald-subscriber and herald-dns on loopback, the RSVP example deployed, and real DNS
# answers, guestutils output and a watcher firing while rsvp scales from 1 to 3 and a task is
# killed; then the Mesos names (leader.mesos, slave.mesos, another framework's task) and a
# leader change. The stack stays up afterwards, with herald-dns's status page.
#
#   ./demo.sh          build, start, deploy, show
#   ./demo.sh stop     stop everything the demo started
#
# Everything listens on 127.0.0.1; ports can be moved with the variables below.
set -euo pipefail
cd "$(dirname "$0")"

STATE=${HERALD_DEMO_DIR:-$PWD/target/demo}
PROFILE=${HERALD_DEMO_PROFILE:-release}
# The defaults are the binaries' own (and etcd's and Marathon's), so every command in the
# README works as written against the demo.
ETCD_PORT=${HERALD_DEMO_ETCD_PORT:-2379}
SIM_PORT=${HERALD_DEMO_MARATHON_PORT:-8080}
MESOS_PORT=${HERALD_DEMO_MESOS_PORT:-5050}
MESOS_PORT2=${HERALD_DEMO_MESOS_PORT2:-5051}
SUB_PORT=${HERALD_DEMO_SUBSCRIBER_PORT:-8090}
DNS_PORT=${HERALD_DEMO_DNS_PORT:-5353}
DNS_HTTP_PORT=${HERALD_DEMO_DNS_HTTP_PORT:-8123}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
# A demo that fails half-way stops what it started, so nothing is left running.
die() {
  printf 'demo: %s\n' "$*" >&2
  [ "${STARTED:-0}" = 1 ] && stop >/dev/null 2>&1
  exit 1
}
trap '[ "${STARTED:-0}" = 1 ] && { echo "demo: a step failed; stopping the stack" >&2; stop >/dev/null 2>&1; }' ERR

stop() {
  [ -d "$STATE/pids" ] || { echo "nothing to stop"; return 0; }
  for f in "$STATE"/pids/*; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null && echo "stopped $(basename "$f") ($pid)"
    rm -f "$f"
  done
  rm -rf "/dev/shm/herald-demo-etcd-$ETCD_PORT"
}

if [ "${1:-}" = stop ]; then
  stop
  exit 0
fi
[ $# -eq 0 ] || die "usage: ./demo.sh [stop]"

# --- 1. what the demo needs -----------------------------------------------------------
step "Checking packages (etcd-server, etcd-client, protobuf-compiler, dnsutils, curl)"
# shellcheck source=.ci/packages.sh
. .ci/packages.sh
need_build_packages
need etcd etcd-server
need etcdctl etcd-client # the README's operations commands
need dig dnsutils
install_needed
[ -n "${HERALD_DEMO_BIN:-}" ] || command -v cargo >/dev/null || die "cargo is missing: install Rust (https://rustup.rs) first"

if [ -n "${HERALD_DEMO_BIN:-}" ]; then
  BIN=$HERALD_DEMO_BIN # prebuilt binaries (the demo's own test uses this)
else
  step "Building Herald ($PROFILE)"
  flag=()
  [ "$PROFILE" = release ] && flag=(--release)
  cargo build "${flag[@]}" --quiet -p herald-subscriber -p herald-dns -p herald-guestutils -p marathon-sim -p mesos-sim
  BIN=$PWD/target/$PROFILE
fi

# --- 2. the stack ----------------------------------------------------------------------
stop >/dev/null
mkdir -p "$STATE/pids" "$STATE/logs"
for port in "$ETCD_PORT" "$((ETCD_PORT + 1))" "$SIM_PORT" "$MESOS_PORT" "$MESOS_PORT2" "$SUB_PORT" "$DNS_PORT" "$DNS_HTTP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is taken; set the HERALD_DEMO_*_PORT variables (see the top of demo.sh)"
  fi
done

start() { # name, command...
  local name=$1
  shift
  STARTED=1
  "$@" >"$STATE/logs/$name.log" 2>&1 &
  echo $! >"$STATE/pids/$name"
}
wait_for() { # description, shell condition (evaluated on every try)
  local what=$1 condition=$2
  for _ in $(seq 1 150); do
    if eval "$condition" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "$what did not come up; see $STATE/logs"
}

export HERALD_ETCD_ENDPOINTS=http://127.0.0.1:$ETCD_PORT
export HERALD_LOG_FORMAT=text

step "Starting etcd on 127.0.0.1:$ETCD_PORT (data on tmpfs)"
start etcd etcd --name demo --data-dir "/dev/shm/herald-demo-etcd-$ETCD_PORT" \
  --listen-client-urls "$HERALD_ETCD_ENDPOINTS" --advertise-client-urls "$HERALD_ETCD_ENDPOINTS" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "demo=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --logger zap --log-outputs stderr --log-level warn \
  --experimental-watch-progress-notify-interval 2s
wait_for etcd 'curl -sf "$HERALD_ETCD_ENDPOINTS/health"'

step "Starting the Marathon simulator (Marathon 1.10 formats) on 127.0.0.1:$SIM_PORT"
say "it is a simulator: no Mesos, no containers; tasks and their addresses are made up"
start marathon-sim "$BIN/marathon-sim" --listen "127.0.0.1:$SIM_PORT" --version 1.10
MARATHON=http://127.0.0.1:$SIM_PORT
wait_for marathon-sim 'curl -sf "$MARATHON/ping"'

step "Starting the Mesos master simulator: 2 masters on 127.0.0.1:$MESOS_PORT and :$MESOS_PORT2"
say "also a simulator: made-up agents, frameworks and tasks, served in the operator API's formats"
start mesos-sim "$BIN/mesos-sim" --masters 2 --ports "$MESOS_PORT,$MESOS_PORT2" --heartbeat-secs 5
MESOS=http://127.0.0.1:$MESOS_PORT
wait_for mesos-sim 'curl -sf "$MESOS/sim/healthz"'

step "Starting herald-subscriber on 127.0.0.1:$SUB_PORT (Marathon SSE + Mesos SUBSCRIBE -> etcd)"
start herald-subscriber "$BIN/herald-subscriber" --listen "127.0.0.1:$SUB_PORT" \
  --marathon "$MARATHON" --source sse \
  --mesos "http://127.0.0.1:$MESOS_PORT,http://127.0.0.1:$MESOS_PORT2"
wait_for herald-subscriber 'curl -sf "http://127.0.0.1:$SUB_PORT/healthz"'

step "Starting herald-dns on 127.0.0.1:$DNS_PORT (UDP+TCP), HTTP on 127.0.0.1:$DNS_HTTP_PORT"
start herald-dns "$BIN/herald-dns" --dns-listen "127.0.0.1:$DNS_PORT" \
  --http-listen "127.0.0.1:$DNS_HTTP_PORT" --ttl 5
wait_for herald-dns 'curl -sf "http://127.0.0.1:$DNS_HTTP_PORT/v1/version"'

# --- 3. the RSVP example --------------------------------------------------------------
dig_() { dig @127.0.0.1 -p "$DNS_PORT" +noall +answer +additional "$@"; }
answers() { dig @127.0.0.1 -p "$DNS_PORT" +short "$@" | grep -c . || true; }

step "Deploying examples/rsvp/mongodb.json and rsvp.json through Marathon's POST /v2/apps"
for app in mongodb rsvp; do
  curl -sf -X POST -H 'Content-Type: application/json' "$MARATHON/v2/apps" \
    -d @"examples/rsvp/$app.json" >/dev/null
  say "deployed /$app"
done
wait_for "mongodb's DNS answer" '[ "$(answers mongodb.marathon.mesos A)" -ge 1 ]'

step "rsvp finds its database: dig mongodb.marathon.mesos"
dig_ mongodb.marathon.mesos A
step "SRV: dig _mongodb._tcp.marathon.mesos (target and host port; addresses in ADDITIONAL)"
dig_ _mongodb._tcp.marathon.mesos SRV
step "Named port: dig _mongo._mongodb._tcp.marathon.mesos SRV"
dig_ _mongo._mongodb._tcp.marathon.mesos SRV

step "guestutils get-node-list mongodb --port mongo (what a container entrypoint reads)"
"$BIN/guestutils" get-node-list mongodb --port mongo | sed 's/^/    /'

step "Starting herald-watcher (WATCHES=rsvp, handler examples/rsvp/on-change.sh)"
WATCHES=rsvp start herald-watcher "$BIN/herald-watcher" --wait 100ms:500ms \
  -- "$PWD/examples/rsvp/on-change.sh"
fired() { grep -c '^\[watcher\]' "$STATE/logs/herald-watcher.log" 2>/dev/null || true; }
wait_for "the watcher's first run" '[ "$(fired)" -ge 1 ]'
grep '^\[watcher\]' "$STATE/logs/herald-watcher.log" | sed 's/^/    /'

step "Scaling rsvp from 1 to 3 (PUT /v2/apps/rsvp {\"instances\": 3})"
before=$(fired)
curl -sf -X PUT -H 'Content-Type: application/json' "$MARATHON/v2/apps/rsvp" -d '{"instances": 3}' >/dev/null
wait_for "three rsvp answers" '[ "$(answers rsvp.marathon.mesos A)" -eq 3 ]'
wait_for "the watcher" '[ "$(fired)" -gt "$before" ]'
dig_ rsvp.marathon.mesos A
grep '^\[watcher\]' "$STATE/logs/herald-watcher.log" | tail -n +$((before + 1)) | sed 's/^/    /'

step "Killing one rsvp task (Marathon replaces it)"
task=$(curl -sf "$MARATHON/sim/tasks" | grep -o '"task_id":"rsvp[^"]*"' | head -1 | cut -d'"' -f4)
before=$(fired)
curl -sf -X POST "$MARATHON/sim/tasks/$task/kill" >/dev/null
say "killed $task"
wait_for "the watcher" '[ "$(fired)" -gt "$before" ]'
sleep 1
grep '^\[watcher\]' "$STATE/logs/herald-watcher.log" | tail -n +$((before + 1)) | sed 's/^/    /'
dig_ _rsvp._tcp.marathon.mesos SRV

# --- 4. the Mesos side -----------------------------------------------------------------
step "Mesos infrastructure names: dig leader.mesos, _leader._tcp.mesos SRV, slave.mesos"
wait_for "leader.mesos" '[ "$(answers leader.mesos A)" -ge 1 ]'
dig_ leader.mesos A
dig_ _leader._tcp.mesos SRV
dig_ slave.mesos A

step "Another framework: chronos registers and runs nightly-report (POST /sim/frameworks, /sim/tasks)"
chronos=$(curl -sf -X POST "$MESOS/sim/frameworks" -d '{"name":"chronos","pid":"scheduler(1)@127.0.0.5:25501"}' | grep -o '"id":"[^"]*"' | cut -d'"' -f4)
curl -sf -X POST "$MESOS/sim/tasks" -d "{\"app_id\":\"/nightly-report\",\"framework\":\"$chronos\",\"containerizer\":null}" >/dev/null
wait_for "nightly-report.chronos.mesos" '[ "$(answers nightly-report.chronos.mesos A)" -ge 1 ]'
dig_ nightly-report.chronos.mesos A
dig_ chronos.mesos A

step "Mesos leader change: master 1 takes over (POST /sim/leader?master=1)"
curl -sf -X POST "$MESOS/sim/leader?master=1" >/dev/null
wait_for "_leader._tcp.mesos to name port $MESOS_PORT2" 'dig @127.0.0.1 -p "$DNS_PORT" +short _leader._tcp.mesos SRV | grep -q " $MESOS_PORT2 "'
dig_ _leader._tcp.mesos SRV

step "The stack is running"
cat <<EOF
    etcd               $HERALD_ETCD_ENDPOINTS
    Marathon simulator $MARATHON  (try: curl $MARATHON/v2/apps?embed=apps.tasks)
    Mesos simulator    $MESOS, http://127.0.0.1:$MESOS_PORT2  (try: curl $MESOS/sim/masters)
    herald-subscriber  http://127.0.0.1:$SUB_PORT  (/v1/tasks, /cleanup, /metrics, /healthz)
    herald-dns         dig @127.0.0.1 -p $DNS_PORT rsvp.marathon.mesos
                       http://127.0.0.1:$DNS_HTTP_PORT/v1/enumerate, /v1/axfr, /metrics, /healthz
    status page        http://127.0.0.1:$DNS_HTTP_PORT/  (what runs where, live)
    herald-watcher     log: $STATE/logs/herald-watcher.log
    logs               $STATE/logs/

    Stop it all with: ./demo.sh stop
EOF
