#!/usr/bin/env bash
# Configures and builds Concord into build/ (Release, ninja, -j2 by default).
# Usage: scripts/build.sh [cmake -D options...]   env: CONCORD_JOBS (default 2), CONCORD_BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${CONCORD_BUILD_DIR:-build}
JOBS=${CONCORD_JOBS:-2}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
