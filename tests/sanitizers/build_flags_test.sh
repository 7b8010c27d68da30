#!/usr/bin/env bash
# The sanitizer flags stay in their own build directories (cmake/Sanitizers.cmake): in a build
# configured without CONCORD_SANITIZE (the release build, what ships) no compile command and no
# link of concord-server carries -fsanitize; in a sanitizer build every compile command of
# Concord's code carries exactly the configured sanitizers.
# Usage: build_flags_test.sh BUILD_DIR [CONCORD_SERVER]
set -euo pipefail
BUILD=${1:?usage: build_flags_test.sh BUILD_DIR [CONCORD_SERVER]}
SERVER=${2:-}
sanitize=$(sed -n 's/^CONCORD_SANITIZE:STRING=//p' "$BUILD/CMakeCache.txt")
/usr/bin/python3 - "$BUILD/compile_commands.json" "$sanitize" <<'PY'
import json, sys
commands = json.load(open(sys.argv[1]))
sanitize = sys.argv[2]
bad = []
for c in commands:
    cmd = c.get("command", "")
    if not sanitize and "-fsanitize" in cmd:
        bad.append(c["file"])
    if sanitize and f"-fsanitize={sanitize}" not in cmd:
        bad.append(c["file"])
if not commands:
    print("no compile command found"); sys.exit(1)
if bad:
    want = f"-fsanitize={sanitize}" if sanitize else "no -fsanitize"
    print(f"{len(bad)} of {len(commands)} compile commands break the rule ({want}), e.g. {bad[:3]}")
    sys.exit(1)
print(f"{len(commands)} compile commands: {'-fsanitize=' + sanitize if sanitize else 'no sanitizer flag'}")
PY
if [ -z "$sanitize" ] && [ -n "$SERVER" ]; then
  if ldd "$SERVER" | grep -E 'lib(a|t|ub)san' || nm -C "$SERVER" 2>/dev/null | grep -q '__asan_init\|__tsan_init'; then
    echo "concord-server of the release build links a sanitizer runtime" >&2
    exit 1
  fi
  echo "concord-server: no sanitizer runtime"
fi
