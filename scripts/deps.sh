#!/usr/bin/env bash
# Installs the Debian 12 packages Concord needs to build, test and run. Skips what is present.
# Usage: scripts/deps.sh        (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config git ca-certificates openssl
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libabsl-dev
  libhiredis-dev libevent-dev prometheus-cpp-dev libssl-dev libsodium-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libcli11-dev nlohmann-json3-dev
  grpc-proto python3 python3-grpcio python3-cryptography redis-server redis-tools curl procps iproute2 clang-format
  libcivetweb-dev prometheus unzip tzdata
  chromium  # headless: the outreach pages of the guidelines e2e test (tests/integration)
  clang-14 libclang-rt-14-dev lld-14  # sanitizer builds and libFuzzer (scripts/proof.sh)
  testssl.sh  # the TLS audit (tests/tls)
)

# npm (helm and schema validation in tests/deploy): Debian's nodejs+npm, unless a node with npm
# is already installed some other way.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# A distribution-started redis-server is not ours: Concord starts its own on chosen ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
fi
