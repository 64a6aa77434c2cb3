#!/bin/sh
# herald-watcher handler: regenerates an HAProxy config with one frontend per watched service
# and its instances as servers (port-based discovery, as marathon-lb does), checks it, and
# reloads HAProxy when it runs.
#
#   WATCHES=/shop/web HAPROXY_PORT_web=10000 \
#     herald-watcher --handler examples/haproxy/reload.sh
#
# Settings: HAPROXY_CFG (output, default /etc/haproxy/haproxy.cfg), HAPROXY_PORT_<service>
# (frontend port, the service with non-alphanumerics as `_`, e.g. HAPROXY_PORT_shop_web; default 10000), HAPROXY_SERVICE_PORT (the named port to balance, default
# the first port), HAPROXY_PID (pid file of a running haproxy to reload).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cfg=${HAPROXY_CFG:-/etc/haproxy/haproxy.cfg}
name=$(printf '%s' "$WATCH_SERVICE" | tr -c 'A-Za-z0-9_' '_' | sed 's/^_*//')
port=$(printenv "HAPROXY_PORT_$name" || echo 10000)
port_flag=""
[ -n "${HAPROXY_SERVICE_PORT:-}" ] && port_flag="--port $HAPROXY_SERVICE_PORT"
cat >/dev/null # the state also comes as JSON on stdin; the CLI below reads etcd directly

tmp=$(mktemp "$cfg.XXXXXX")
{
  cat "$here/haproxy.cfg.head"
  printf '\nfrontend %s\n    bind 127.0.0.1:%s\n    default_backend %s\n' "$name" "$port" "$name"
  printf '\nbackend %s\n    balance roundrobin\n' "$name"
  i=0
  # shellcheck disable=SC2086
  for node in $(guestutils get-node-list "$WATCH_SERVICE" $port_flag --minimum 0); do
    i=$((i + 1))
    printf '    server %s-%d %s check\n' "$name" "$i" "$node"
  done
} >"$tmp"
if command -v haproxy >/dev/null 2>&1; then
  haproxy -c -q -f "$tmp"
fi
mv "$tmp" "$cfg"
echo "haproxy: $WATCH_SERVICE has $WATCH_COUNT instance(s) (revision $WATCH_REVISION); wrote $cfg"
if [ -n "${HAPROXY_PID:-}" ] && [ -s "$HAPROXY_PID" ]; then
  haproxy -f "$cfg" -p "$HAPROXY_PID" -sf "$(cat "$HAPROXY_PID")"
fi
