#include "services/referrals/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace concord::referrals {
namespace {

constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kRandomBytes = 16;
constexpr size_t kEncodedChars = 26;  // ceil(128 / 5)

// RFC 4648 base32 without padding, lower case.
std::string Base32(const std::array<uint8_t, kRandomBytes>& bytes) {
  std::string out;
  out.reserve(kEncodedChars);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

std::string RandomToken() {
  std::array<uint8_t, kRandomBytes> bytes{};
  // RAND_bytes only fails when the CSPRNG cannot be seeded; an id then must not be produced
  // from anything predictable, so this is an internal invariant (crash) rather than a Status.
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) std::abort();
  return Base32(bytes);
}

bool HasTokenShape(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + kEncodedChars || s.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : s.substr(prefix.size())) {
    if (kBase32Alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

std::string NewCaseId() { return "ref-" + RandomToken(); }
std::string NewSubjectRef() { return "subj-" + RandomToken(); }

bool IsCaseId(std::string_view id) { return HasTokenShape(id, "ref-"); }
bool IsSubjectRef(std::string_view ref) { return HasTokenShape(ref, "subj-"); }

concord::common::v1::AgencyId AgencyIdToProto(const AgencyId& agency) {
  concord::common::v1::AgencyId out;
  out.set_trust_domain(agency.trust_domain);
  out.set_type(AgencyTypeToProto(agency.type));
  out.set_id(agency.id);
  return out;
}

StatusOr<AgencyId> AgencyIdFromProto(const concord::common::v1::AgencyId& agency) {
  StatusOr<AgencyType> type = AgencyTypeFromProto(agency.type());
  if (!type.ok()) return type.status();
  Status id_ok = ValidateAgencyLocalId(agency.id());
  if (!id_ok.ok()) return id_ok;
  return AgencyId{agency.trust_domain(), *type, agency.id()};
}

bool IsUnset(const concord::common::v1::AgencyId& agency) {
  return agency.trust_domain().empty() && agency.id().empty() &&
         agency.type() == concord::common::v1::AGENCY_TYPE_UNSPECIFIED;
}

std::string AgencyKeyOf(const concord::common::v1::AgencyId& agency) {
  StatusOr<AgencyType> type = AgencyTypeFromProto(agency.type());
  if (!type.ok() || agency.id().empty()) return "";
  return std::string(AgencyTypeName(*type)) + "/" + agency.id();
}

bool SameAgency(const concord::common::v1::AgencyId& a, const AgencyId& b) {
  return !a.id().empty() && a.type() == AgencyTypeToProto(b.type) && a.id() == b.id &&
         (a.trust_domain().empty() || b.trust_domain.empty() || a.trust_domain() == b.trust_domain);
}

bool SameAgency(const concord::common::v1::AgencyId& a, const concord::common::v1::AgencyId& b) {
  return !a.id().empty() && a.type() != concord::common::v1::AGENCY_TYPE_UNSPECIFIED &&
         a.type() == b.type() && a.id() == b.id() &&
         (a.trust_domain().empty() || b.trust_domain().empty() ||
          a.trust_domain() == b.trust_domain());
}

}  // namespace concord::referrals
