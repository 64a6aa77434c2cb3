# Debian packages Herald's scripts need, in one place. Sourced by test.sh, demo.sh and
# bench.sh:
#
#   need etcd etcd-server          # queue the package when the command is missing
#   need_file /usr/include/x.h libx-dev
#   install_needed                 # one apt-get run for everything queued
#
# Runs apt-get as root, or through sudo.

HERALD_MISSING_PACKAGES=()

# need COMMAND PACKAGE: PACKAGE provides COMMAND (looked up on the PATH and in /usr/sbin).
need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] \
    || HERALD_MISSING_PACKAGES+=("$2")
}

# need_file PATH PACKAGE: PACKAGE provides PATH.
need_file() {
  [ -e "$1" ] || HERALD_MISSING_PACKAGES+=("$2")
}

# Installs every queued package (once each) with one apt-get call.
install_needed() {
  [ ${#HERALD_MISSING_PACKAGES[@]} -gt 0 ] || return 0
  local packages
  read -r -a packages <<<"$(printf '%s\n' "${HERALD_MISSING_PACKAGES[@]}" | sort -u | tr '\n' ' ')"
  echo "==> installing Debian packages: ${packages[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
  HERALD_MISSING_PACKAGES=()
}

# The packages every build needs: etcd-client's build runs protoc.
need_build_packages() {
  need protoc protobuf-compiler
  need_file /usr/include/google/protobuf/descriptor.proto libprotobuf-dev
  need cc gcc
  need_file /usr/include/stdio.h libc6-dev
  need pkg-config pkg-config
  need curl curl
  need git git
}
