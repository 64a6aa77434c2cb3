#!/usr/bin/env bash
# Checks Herald's promise the way CI cannot: on a Debian where nothing but the Rust
# toolchain was ever installed, a bare clone passes ./test.sh, then ./demo.sh runs.
#
# It builds a minimal Debian root with debootstrap (the host's release and mirror, from
# its apt sources), bind-mounts the host's Rust toolchain read-only, clones COMMIT into
# the root with no sibling folder, and runs both scripts there under chroot. What the
# scripts install, they install inside the root. Not run by CI: it needs root, ~20 min
# and a few GB. Run it by hand:
#
#   sudo tests/fresh-machine.sh [COMMIT]      # default HEAD
#
#   HERALD_FRESH_ROOT=/var/tmp/herald-fresh   where the Debian root lives (kept, reused)
#   HERALD_FRESH_NEW=1                        start from a new debootstrap
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:-HEAD}
root=${HERALD_FRESH_ROOT:-/var/tmp/herald-fresh}
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot, mounts)" >&2; exit 1; }

rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
[ -x "$cargo_bin/cargo" ] || { echo "no Rust toolchain at $cargo_bin" >&2; exit 1; }

command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

# The host's release and mirror (no host name is written here).
. /etc/os-release
suite=$VERSION_CODENAME
mirror=$({ grep -rhoE '^(URIs:|deb) *[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } \
  | head -1 | awk '{print $2}')
[ -n "$mirror" ] || { echo "cannot find the Debian mirror in the apt sources" >&2; exit 1; }

mounts=()
cleanup() {
  # Everything the run left inside the root dies with it.
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "$pid" 2>/dev/null
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # source, target inside the root, [ro]
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  [ "${3:-}" = ro ] && mount -o remount,bind,ro "$root$2"
  mounts+=("$root$2")
}

if [ "${HERALD_FRESH_NEW:-0}" = 1 ] || [ ! -x "$root/usr/bin/apt-get" ]; then
  rm -rf "$root"
  echo "==> debootstrap $suite (minbase) into $root"
  # ca-certificates: cargo reaches crates.io over TLS, as on any machine with Rust.
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >/dev/null
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# What Debian's installer writes on every machine (debootstrap leaves it out): localhost
# resolves through /etc/hosts.
[ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# The host's own certificate authorities (a network that inspects TLS has one): the root
# trusts what the host trusts, nothing else is carried over.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
fi

bind /proc /proc
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
mkdir -p "$root/dev/shm"
mount -t tmpfs tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")
bind "$rustup_home" /opt/rust/rustup ro
bind "$cargo_bin" /opt/rust/bin ro

work=/home/herald
rm -rf "${root:?}$work"
mkdir -p "$root$work"
git -C "$repo" rev-parse --verify "$commit^{commit}" >/dev/null
git clone -q "$repo" "$root$work/herald"
git -C "$root$work/herald" checkout -q "$commit"
echo "==> commit $(git -C "$root$work/herald" rev-parse --short HEAD); packages in the root before: $(chroot "$root" dpkg -l | grep -c '^ii')"

run() { # command inside the root, in the clone
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/opt/rust/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
    RUSTUP_HOME=/opt/rust/rustup CARGO_HOME=/root/.cargo CI=true \
    /bin/bash -c "cd $work/herald && $1"
}

status=0
echo "==> ./test.sh in the fresh root"
run ./test.sh 2>&1 | tee "$root$work/test.log" || status=1
echo "==> ./demo.sh in the fresh root (default ports)"
if run './demo.sh && ./demo.sh stop' >"$root$work/demo.log" 2>&1; then
  grep -E 'marathon.mesos\.|now=3' "$root$work/demo.log" | head -8
else
  tail -30 "$root$work/demo.log"
  status=1
fi
echo "==> logs: $root$work/test.log, $root$work/demo.log"
exit $status
