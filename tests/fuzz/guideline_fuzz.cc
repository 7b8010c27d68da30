// File: tests/fuzz/guideline_fuzz.cc
//
// Guideline version decoding and verification (common/guideline): the service parses the signed
// bytes it stored, every reader verifies them. Byte 0 picks:
//   0  ParseVersionBytes: accepted bytes are exactly VersionBytes of the result (the documented
//      inverse: one version, one encoding, one hash), and the version validates without crash;
//   1  ParseWithdrawalBytes: accepted bytes are exactly WithdrawalBytes of the result;
//   2  a signed version: the first 64 bytes are the signature, the rest the version bytes;
//      VerifyVersion under the fixed publisher key accepts only what that key signed.
#include <cstddef>
#include <cstdint>

#include "common/guideline/guideline.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace concord;
  using namespace concord::guideline;
  if (size == 0) return 0;
  const std::string_view in = fuzz::Bytes(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto v = ParseVersionBytes(in);
      if (v.ok()) {
        FUZZ_INVARIANT(VersionBytes(*v) == in,
                       "ParseVersionBytes accepted a non-canonical encoding");
        (void)ValidateVersion(*v, fuzz::kTrustDomain);
      }
      break;
    }
    case 1: {
      auto w = ParseWithdrawalBytes(in);
      if (w.ok()) {
        FUZZ_INVARIANT(WithdrawalBytes(*w) == in,
                       "ParseWithdrawalBytes accepted a non-canonical encoding");
        (void)ValidateWithdrawal(*w, fuzz::kTrustDomain);
      }
      break;
    }
    default: {
      if (in.size() < 64) return 0;
      auto v = ParseVersionBytes(in.substr(64));
      if (!v.ok()) return 0;
      const SignedVersion sv{*v, std::string(in.substr(0, 64))};
      const Status verified = VerifyVersion(sv, VersionSha256(*v), fuzz::SigningKey().PublicKey());
      if (verified.ok()) {
        FUZZ_INVARIANT(fuzz::SigningKey().PublicKey().Verify(VersionBytes(*v), sv.signature),
                       "VerifyVersion accepted a signature the key did not make");
      }
      break;
    }
  }
  return 0;
}
