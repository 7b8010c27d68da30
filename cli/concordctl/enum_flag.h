// concordctl: a protobuf enum value from a flag's text ("production_order", "PRODUCTION_ORDER" or
// "REQUEST_TYPE_PRODUCTION_ORDER", '-' read as '_'); UNSPECIFIED (0) is never accepted, and an
// unknown value is a usage error (INVALID_ARGUMENT on the flag) listing the accepted ones.
#ifndef CONCORD_CLI_CONCORDCTL_ENUM_FLAG_H_
#define CONCORD_CLI_CONCORDCTL_ENUM_FLAG_H_

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status.h"

namespace concord::ctl {

/// Lower-case copy (ASCII).
inline std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The value of `descriptor` named by `text` (with or without `prefix`, any case).
template <typename E>
StatusOr<E> ParseEnum(std::string_view flag, const std::string& text, const std::string& prefix,
                      const google::protobuf::EnumDescriptor* descriptor) {
  std::string name(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::replace(name.begin(), name.end(), '-', '_');
  if (!name.starts_with(prefix)) name = prefix + name;
  const google::protobuf::EnumValueDescriptor* v = descriptor->FindValueByName(name);
  if (v == nullptr || v->number() == 0) {
    std::vector<std::string> names;
    for (int i = 1; i < descriptor->value_count(); ++i) {
      names.push_back(LowerAscii(descriptor->value(i)->name().substr(prefix.size())));
    }
    return InvalidArgumentWithFields(
        "invalid arguments",
        {{std::string(flag), absl::StrCat("one of ", absl::StrJoin(names, ", "))}});
  }
  return static_cast<E>(v->number());
}

}  // namespace concord::ctl

#endif  // CONCORD_CLI_CONCORDCTL_ENUM_FLAG_H_
