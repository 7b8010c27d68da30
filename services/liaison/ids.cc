#include "services/liaison/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace concord::liaison {
namespace {

constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kRandomBytes = 16;
constexpr size_t kEncodedChars = 26;  // ceil(128 / 5)

std::string RandomToken() {
  std::array<uint8_t, kRandomBytes> bytes{};
  // RAND_bytes fails only when the CSPRNG cannot be seeded: an id must then not be produced.
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) std::abort();
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

bool HasTokenShape(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + kEncodedChars || s.substr(0, prefix.size()) != prefix) {
    return false;
  }
  return std::all_of(s.begin() + static_cast<long>(prefix.size()), s.end(),
                     [](char c) { return kBase32Alphabet.find(c) != std::string_view::npos; });
}

bool Alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string NewRequestId() { return "lr-" + RandomToken(); }
std::string NewJitId() { return "jit-" + RandomToken(); }
bool IsRequestId(std::string_view id) { return HasTokenShape(id, "lr-"); }
bool IsJitId(std::string_view id) { return HasTokenShape(id, "jit-"); }

bool IsMessageId(std::string_view id) {
  return id.size() >= 16 && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return Alnum(c) || c == '_' || c == '-'; });
}

bool IsSha256Hex(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsReference(std::string_view r) {
  return !r.empty() && r.size() <= 64 && std::all_of(r.begin(), r.end(), [](char c) {
    return Alnum(c) || c == '.' || c == '_' || c == '/' || c == '-';
  });
}

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
  if (Status id_ok = ValidateAgencyLocalId(agency.id()); !id_ok.ok()) return id_ok;
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

}  // namespace concord::liaison
