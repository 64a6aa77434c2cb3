#!/usr/bin/env bash
# Herald's benchmark command (not part of the tests): installs what the benchmarks need
# (Debian packages), builds every binary in release mode, then runs herald-bench, which
# starts etcd, herald-dns, NSD, Knot, the subscriber, marathon-sim and watchers on loopback,
# prints a Markdown table and writes target/bench/results.json. See BENCHMARKS.md.
#
#   ./bench.sh                 # every benchmark (< 15 min)
#   ./bench.sh --quick         # short runs (< 3 min)
#   ./bench.sh dns [--quick]   # one benchmark: dns | freshness | ingest | mesos | page | resync | scale
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=.ci/packages.sh
. .ci/packages.sh
need_build_packages
need etcd etcd-server
need dig dnsutils
need dnsperf dnsperf
need nsd nsd
need knotd knot
install_needed
# Debian starts the packaged servers as services; the benchmarks run their own copies.

echo "==> cargo build --release --workspace --bins"
cargo build --release --workspace --bins

args=("$@")
case "${1:-}" in
  all|dns|freshness|ingest|mesos|page|resync|scale) ;;
  *) args=(all "$@") ;;
esac
echo "==> herald-bench ${args[*]}"
exec target/release/herald-bench "${args[@]}" --out target/bench/results.json
