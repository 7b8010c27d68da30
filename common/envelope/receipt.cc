#include "common/envelope/receipt.h"

#include "common/crypto/canonical.h"

namespace concord::envelope {

std::string CanonicalReceipt(const Receipt& r) {
  crypto::CanonicalWriter w;
  w.AddString(0, kReceiptDomain);
  w.AddString(1, r.message_id);
  w.AddString(2, r.envelope_sha256);
  w.AddString(3, r.recipient.ToSpiffe());
  w.AddInt(4, r.kind == ReceiptKind::kDelivered ? 1 : 2);
  w.AddInt(5, absl::ToUnixNanos(r.at));
  return w.Release();
}

}  // namespace concord::envelope
