#include "common/audit/audit_event.h"

#include <array>
#include <utility>

namespace concord::audit {
namespace {

constexpr std::array<std::pair<Operation, std::string_view>, 6> kNames = {{
    {Operation::kCollection, "collection"},
    {Operation::kAlteration, "alteration"},
    {Operation::kConsultation, "consultation"},
    {Operation::kDisclosure, "disclosure"},
    {Operation::kCombination, "combination"},
    {Operation::kErasure, "erasure"},
}};

}  // namespace

std::string_view OperationName(Operation op) {
  for (const auto& [o, name] : kNames) {
    if (o == op) {
      return name;
    }
  }
  return "unknown";
}

std::optional<Operation> ParseOperation(std::string_view name) {
  for (const auto& [o, n] : kNames) {
    if (n == name) {
      return o;
    }
  }
  return std::nullopt;
}

}  // namespace concord::audit
