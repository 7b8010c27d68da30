#include "common/audit/audit_context.h"

namespace concord::audit {
namespace {

std::string MetadataValue(const grpc::ServerContextBase& ctx, std::string_view key,
                          size_t max_len) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) {
    return "";
  }
  return SanitizeAssertedValue(std::string_view(it->second.data(), it->second.size()), max_len);
}

}  // namespace

std::string SanitizeAssertedValue(std::string_view value, size_t max_length) {
  auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && is_blank(value.front())) {
    value.remove_prefix(1);
  }
  while (!value.empty() && is_blank(value.back())) {
    value.remove_suffix(1);
  }
  if (value.empty() || value.size() > max_length) {
    return "";
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) {
      return "";
    }
  }
  return std::string(value);
}

std::string OfficerFromContext(const grpc::ServerContextBase& ctx) {
  return MetadataValue(ctx, kOfficerMetadataKey, kMaxOfficerLength);
}

std::string JustificationFromContext(const grpc::ServerContextBase& ctx) {
  return MetadataValue(ctx, kJustificationMetadataKey, kMaxJustificationLength);
}

}  // namespace concord::audit
