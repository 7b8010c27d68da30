#!/usr/bin/env bash
# The envelope's wire contract is written out three times for readers in other languages: in the
# proto comments, docs/crypto.md and services/messaging/README.md. This test fails unless the
# three blocks between the envelope-spec markers are the same text, line for line, and the block
# states the attachment chunking rule.
# Usage: envelope_spec_docs_test.sh REPO_ROOT
set -euo pipefail
REPO=${1:?usage: envelope_spec_docs_test.sh REPO_ROOT}
work=$(mktemp -d "${TMPDIR:-/tmp}/envelope-spec.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The proto: "// " prefixed lines between "// envelope-spec:begin" and "// envelope-spec:end".
awk '/^\/\/ envelope-spec:end$/ {on=0} on {sub(/^\/\/ ?/, ""); print} /^\/\/ envelope-spec:begin$/ {on=1}' \
  "$REPO/proto/concord/messaging/v1/messaging.proto" >"$work/proto.txt"
# Markdown: the fenced block between the HTML comment markers, without the fences.
extract_md() {
  awk '/^<!-- envelope-spec:end -->$/ {on=0} on && !/^```/ {print} /^<!-- envelope-spec:begin -->$/ {on=1}' "$1"
}
extract_md "$REPO/docs/crypto.md" >"$work/crypto.txt"
extract_md "$REPO/services/messaging/README.md" >"$work/readme.txt"

fail=0
for f in proto crypto readme; do
  if [ "$(wc -l <"$work/$f.txt")" -lt 50 ]; then
    echo "FAIL: $f: no envelope-spec block found (markers missing?)" >&2
    fail=1
  fi
done
# The block must carry the one chunking rule that UploadAttachment enforces chunk by chunk
# (services/messaging/mailbox.cc, common/envelope/chunk.h): a client written from the docs
# alone needs it before it uploads anything.
for needle in "7. Attachment uploads (UploadAttachment), one rule, checked as each chunk arrives:" \
    "every chunk but the last carries exactly" "1048576 bytes (1 MiB) of plaintext" \
    "is its plaintext length + 16 bytes" "reason CHUNK_RULE"; do
  if ! grep -qF "$needle" "$work/proto.txt"; then
    echo "FAIL: the envelope-spec block lacks the chunking rule (\"$needle\")" >&2
    fail=1
  fi
done
for f in crypto readme; do
  if ! diff -u "$work/proto.txt" "$work/$f.txt" >&2; then
    echo "FAIL: the envelope contract in $f differs from the proto's (above: proto -> $f)" >&2
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "envelope spec: proto, docs/crypto.md and services/messaging/README.md agree ($(wc -l <"$work/proto.txt") lines)"
exit $fail
