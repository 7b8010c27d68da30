#!/usr/bin/env bash
# Machine-checks the layering rules of STYLE.md (G10) and that no generated code is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
# common/ never includes services/, cli/, client/ (one floor up) or tests/.
if grep -rnE '#include "(services|cli|client|tests)/' common/ 2>/dev/null; then
  echo "check_deps: common/ must not include services/, cli/, client/ or tests/" >&2; fail=1
fi
# services/X never includes services/Y.
for dir in services/*/; do
  svc=$(basename "$dir")
  if grep -rnE '#include "services/' "$dir" 2>/dev/null | grep -v "#include \"services/$svc/"; then
    echo "check_deps: services/$svc includes another service" >&2; fail=1
  fi
  if grep -rnE '#include "(cli|tests)/' "$dir" 2>/dev/null; then
    echo "check_deps: services/$svc includes cli/ or tests/" >&2; fail=1
  fi
done
# cli never includes services/ or tests/.
if grep -rnE '#include "(services|tests)/' cli/ 2>/dev/null; then
  echo "check_deps: cli/ must not include services/ or tests/" >&2; fail=1
fi
# Generated code stays in the build tree.
if git ls-files | grep -E '\.pb\.(h|cc)$'; then
  echo "check_deps: generated protobuf code is committed" >&2; fail=1
fi
[ $fail -eq 0 ] && echo "check_deps: layering OK"
exit $fail
