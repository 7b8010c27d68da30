// File: tests/fuzz/certificate_fuzz.cc
//
// The certificate SAN / SPIFFE parser (common/identity): every caller is identified by it, from
// a certificate that passed chain verification but whose extensions the issuing side chose.
// Byte 0 picks the input kind:
//   0  a DER certificate: CallerFromPemCertificate on its PEM form (X.509 parsing, the single
//      URI SAN rule, the SPIFFE id, the serial);
//   1  a URI: ParseSpiffeId; an accepted id prints back exactly (AgencyId::ToSpiffe), so two
//      spellings never name one agency;
//   2  an agency key "<type>/<id>": ParseAgencyKey; accepted keys print back exactly (Key()).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "common/identity/agency_id.h"
#include "common/identity/caller.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::string DerToPem(std::string_view der) {
  const std::string b64 = absl::Base64Escape(absl::string_view(der.data(), der.size()));
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END CERTIFICATE-----\n";
  return pem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace concord;
  if (size == 0) return 0;
  const std::string_view in = fuzz::Bytes(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto caller = CallerFromPemCertificate(DerToPem(in));
      if (caller.ok()) {
        auto again = ParseSpiffeId(caller->agency.ToSpiffe());
        FUZZ_INVARIANT(again.ok() && *again == caller->agency,
                       "a certificate's agency does not survive ToSpiffe/ParseSpiffeId");
        FUZZ_INVARIANT(!caller->cert_serial.empty(), "a caller without a serial");
      }
      break;
    }
    case 1: {
      auto id = ParseSpiffeId(in);
      if (id.ok()) {
        FUZZ_INVARIANT(id->ToSpiffe() == in, "ParseSpiffeId accepted a non-canonical spelling");
      }
      break;
    }
    default: {
      auto id = ParseAgencyKey(fuzz::kTrustDomain, in);
      if (id.ok()) {
        FUZZ_INVARIANT(id->Key() == in, "ParseAgencyKey accepted a non-canonical spelling");
      }
      (void)NormalizeSerial(in);
      break;
    }
  }
  return 0;
}
