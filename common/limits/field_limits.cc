// File: common/limits/field_limits.cc
#include "common/limits/field_limits.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "concord/common/v1/limits.pb.h"

namespace concord::limits {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Violations reported per request: a request over its bounds in many places says so by the
// first ones (the BadRequest stays small).
constexpr size_t kMaxViolations = 20;

const concord::common::v1::FieldLimit& LimitOf(const FieldDescriptor& f) {
  return f.options().GetExtension(concord::common::v1::limit);
}

bool IsBytesLike(const FieldDescriptor& f) {
  return f.cpp_type() == FieldDescriptor::CPPTYPE_STRING;
}

void Check(const Message& m, const std::string& prefix, FieldErrors& errors) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (errors.violations().size() >= kMaxViolations) return;
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const auto& limit = LimitOf(*f);
    if (f->is_repeated()) {
      const int n = r->FieldSize(m, f);
      if (limit.max_items() > 0 && static_cast<uint32_t>(n) > limit.max_items()) {
        errors.Add(path, absl::StrCat("at most ", limit.max_items(), " elements, got ", n));
        continue;  // the elements of an oversized list are not examined
      }
      for (int i = 0; i < n; ++i) {
        const std::string element = absl::StrCat(path, "[", i, "]");
        if (IsBytesLike(*f)) {
          std::string scratch;
          const std::string& v = r->GetRepeatedStringReference(m, f, i, &scratch);
          if (limit.max_bytes() > 0 && v.size() > limit.max_bytes()) {
            errors.Add(element,
                       absl::StrCat("at most ", limit.max_bytes(), " bytes, got ", v.size()));
          }
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          Check(r->GetRepeatedMessage(m, f, i), element, errors);
        }
      }
    } else if (IsBytesLike(*f)) {
      std::string scratch;
      const std::string& v = r->GetStringReference(m, f, &scratch);
      if (limit.max_bytes() > 0 && v.size() > limit.max_bytes()) {
        errors.Add(path, absl::StrCat("at most ", limit.max_bytes(), " bytes, got ", v.size()));
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Check(r->GetMessage(m, f), path, errors);
    }
  }
}

void Collect(const Descriptor& type, const std::string& prefix,
             std::vector<const Descriptor*>& on_path, std::vector<LimitedField>& out,
             std::vector<std::string>* unbounded) {
  on_path.push_back(&type);
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const auto& limit = LimitOf(*f);
    const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (f->is_repeated() || IsBytesLike(*f)) {
      const bool bounded = (!f->is_repeated() || limit.max_items() > 0) &&
                           (!IsBytesLike(*f) || limit.max_bytes() > 0);
      if (!bounded && unbounded != nullptr) unbounded->push_back(path);
      out.push_back(LimitedField{path, f, limit.max_bytes(), limit.max_items()});
    }
    if (message && std::find(on_path.begin(), on_path.end(), f->message_type()) == on_path.end()) {
      Collect(*f->message_type(), f->is_repeated() ? path + "[0]" : path, on_path, out, unbounded);
    }
  }
  on_path.pop_back();
}

}  // namespace

Status CheckFieldLimits(const Message& request) {
  FieldErrors errors;
  Check(request, "", errors);
  if (errors.empty()) return absl::OkStatus();
  return WithReason(errors.ToStatus("request field over its limit"), "FIELD_TOO_LARGE");
}

std::vector<LimitedField> LimitedFields(const Descriptor& type,
                                        std::vector<std::string>* unbounded) {
  std::vector<LimitedField> out;
  std::vector<const Descriptor*> on_path;
  Collect(type, "", on_path, out, unbounded);
  return out;
}

}  // namespace concord::limits
