// File: tests/support/field_limit_cases.cc
#include "tests/support/field_limit_cases.h"

#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_split.h"
#include "common/limits/field_limits.h"

namespace concord::testing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Descends to the parent of the last segment of `path` ("a.b[0].c"), creating what is missing;
// returns the parent and the last field's name.
Message* Parent(Message& root, const std::string& path, std::string& last) {
  std::vector<std::string> segments = absl::StrSplit(path, '.');
  last = segments.back();
  segments.pop_back();
  Message* m = &root;
  for (std::string seg : segments) {
    const bool indexed = seg.size() > 3 && seg.substr(seg.size() - 3) == "[0]";
    if (indexed) seg.resize(seg.size() - 3);
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(seg);
    const Reflection* r = m->GetReflection();
    if (f->is_repeated()) {
      m = r->FieldSize(*m, f) > 0 ? r->MutableRepeatedMessage(m, f, 0) : r->AddMessage(m, f);
    } else {
      m = r->MutableMessage(m, f);
    }
  }
  return m;
}

void AddElement(Message& m, const FieldDescriptor& f) {
  const Reflection* r = m.GetReflection();
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->AddString(&m, &f, "x");
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      r->AddMessage(&m, &f);
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->AddEnumValue(&m, &f, 1);
      break;
    default:
      r->AddInt64(&m, &f, 1);  // no such bounded field today
  }
}

void* Tag(int n) { return reinterpret_cast<void*>(static_cast<intptr_t>(n)); }

bool Wait(grpc::CompletionQueue& cq, void* tag, absl::Time deadline) {
  void* got = nullptr;
  bool ok = false;
  while (cq.AsyncNext(&got, &ok, absl::ToChronoTime(deadline)) ==
         grpc::CompletionQueue::GOT_EVENT) {
    if (got == tag) return ok;
  }
  return false;
}

}  // namespace

std::vector<OverLimitCase> OverLimitCases(const google::protobuf::ServiceDescriptor& service) {
  std::vector<OverLimitCase> out;
  google::protobuf::MessageFactory* factory = google::protobuf::MessageFactory::generated_factory();
  for (int i = 0; i < service.method_count(); ++i) {
    const auto* method = service.method(i);
    const std::string name = "/" + service.full_name() + "/" + method->name();
    for (const limits::LimitedField& lf : limits::LimitedFields(*method->input_type())) {
      auto build = [&](bool count) {
        std::unique_ptr<Message> m(factory->GetPrototype(method->input_type())->New());
        std::string last;
        Message* parent = Parent(*m, lf.path, last);
        const Reflection* r = parent->GetReflection();
        std::string path = lf.path;
        if (count) {
          for (uint32_t k = 0; k <= lf.max_items; ++k) AddElement(*parent, *lf.field);
        } else if (lf.field->is_repeated()) {
          r->AddString(parent, lf.field, std::string(lf.max_bytes + 1, 'a'));
          path += "[0]";
        } else {
          r->SetString(parent, lf.field, std::string(lf.max_bytes + 1, 'a'));
        }
        out.push_back({name, path, m->SerializeAsString()});
      };
      if (lf.max_items > 0) build(/*count=*/true);
      if (lf.max_bytes > 0) build(/*count=*/false);
    }
  }
  return out;
}

grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::vector<std::string>& requests, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  ctx.AddMetadata("concord-officer", "officer-limits");
  ctx.AddMetadata("concord-justification", "field limit test AN.12.34/26");
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(Tag(1));
  if (Wait(cq, Tag(1), deadline)) {
    bool open = true;
    for (const std::string& r : requests) {
      grpc::Slice slice(r);
      grpc::ByteBuffer buffer(&slice, 1);
      call->Write(buffer, Tag(2));
      if (!Wait(cq, Tag(2), deadline)) {
        open = false;
        break;
      }
    }
    if (open) {
      call->WritesDone(Tag(3));
      (void)Wait(cq, Tag(3), deadline);
    }
    for (int reads = 0; reads < 1000; ++reads) {
      grpc::ByteBuffer in;
      call->Read(&in, Tag(4));
      if (!Wait(cq, Tag(4), deadline)) break;
    }
  }
  grpc::Status status;
  call->Finish(&status, Tag(5));
  (void)Wait(cq, Tag(5), deadline + absl::Seconds(5));
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

}  // namespace concord::testing
