#include "tests/support/grpc_probes.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/client_context.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/rpc_method.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
#include "common/status/grpc_status.h"

namespace concord::testing {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

void AppendLengthDelimited(std::string& out, int field, std::string_view value) {
  out.push_back(static_cast<char>((field << 3) | 2));
  size_t n = value.size();
  do {
    unsigned char byte = n & 0x7f;
    n >>= 7;
    if (n != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (n != 0);
  out.append(value);
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration deadline) {
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
}

}  // namespace

StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                   std::string_view service, absl::Duration deadline) {
  std::string request;
  if (!service.empty()) AppendLengthDelimited(request, 1, service);  // HealthCheckRequest.service
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  grpc::ByteBuffer response;
  grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                   grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel.get(), method, &ctx, ToByteBuffer(request), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  UnknownFieldSet fields;
  if (!fields.ParseFromString(FromByteBuffer(response))) {
    return absl::DataLossError("cannot parse HealthCheckResponse");
  }
  int value = 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.number() == 1 && f.type() == UnknownField::TYPE_VARINT) {
      value = static_cast<int>(f.varint());
    }
  }
  return static_cast<HealthStatus>(value);
}

StatusOr<std::vector<std::string>> ListServicesViaReflection(
    const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          channel.get(), method, &ctx));
  std::string request;
  AppendLengthDelimited(request, 7, "*");  // ServerReflectionRequest.list_services
  stream->Write(ToByteBuffer(request));
  stream->WritesDone();
  std::vector<std::string> names;
  grpc::ByteBuffer response;
  while (stream->Read(&response)) {
    UnknownFieldSet top;
    if (!top.ParseFromString(FromByteBuffer(response))) {
      return absl::DataLossError("cannot parse ServerReflectionResponse");
    }
    for (int i = 0; i < top.field_count(); ++i) {
      const UnknownField& f = top.field(i);
      // ServerReflectionResponse.list_services_response = 6 { repeated ServiceResponse service = 1
      // { string name = 1; } }
      if (f.number() != 6 || f.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
      UnknownFieldSet list;
      if (!list.ParseFromString(f.length_delimited())) continue;
      for (int j = 0; j < list.field_count(); ++j) {
        const UnknownField& svc = list.field(j);
        if (svc.number() != 1 || svc.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
        UnknownFieldSet svc_fields;
        if (!svc_fields.ParseFromString(svc.length_delimited())) continue;
        for (int k = 0; k < svc_fields.field_count(); ++k) {
          if (svc_fields.field(k).number() == 1 &&
              svc_fields.field(k).type() == UnknownField::TYPE_LENGTH_DELIMITED) {
            names.push_back(svc_fields.field(k).length_delimited());
          }
        }
      }
    }
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return names;
}

BackgroundStream::~BackgroundStream() {
  ctx_.TryCancel();
  if (thread_.joinable()) thread_.join();
}

void BackgroundStream::Record(bool message, const grpc::Status* status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (message) ++messages_;
    if (status != nullptr) {
      status_ = *status;
      ended_ = true;
      ended_at_ = absl::Now();
    }
  }
  cv_.notify_all();
}

std::unique_ptr<BackgroundStream> BackgroundStream::WatchHealth(
    std::shared_ptr<grpc::Channel> channel, std::string service, absl::Duration deadline) {
  std::unique_ptr<BackgroundStream> stream(new BackgroundStream());
  SetDeadline(stream->ctx_, deadline);
  BackgroundStream* self = stream.get();
  stream->thread_ = std::thread([self, channel = std::move(channel), service = std::move(service)] {
    std::string request;
    if (!service.empty()) AppendLengthDelimited(request, 1, service);
    grpc::internal::RpcMethod method("/grpc.health.v1.Health/Watch",
                                     grpc::internal::RpcMethod::SERVER_STREAMING);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
            channel.get(), method, &self->ctx_, ToByteBuffer(request)));
    grpc::ByteBuffer update;
    while (reader->Read(&update)) self->Record(/*message=*/true, nullptr);
    const grpc::Status status = reader->Finish();
    self->Record(/*message=*/false, &status);
  });
  return stream;
}

std::unique_ptr<BackgroundStream> BackgroundStream::HoldReflection(
    std::shared_ptr<grpc::Channel> channel, absl::Duration deadline) {
  std::unique_ptr<BackgroundStream> stream(new BackgroundStream());
  SetDeadline(stream->ctx_, deadline);
  BackgroundStream* self = stream.get();
  stream->thread_ = std::thread([self, channel = std::move(channel)] {
    grpc::internal::RpcMethod method(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        grpc::internal::RpcMethod::BIDI_STREAMING);
    std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> rw(
        grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
            channel.get(), method, &self->ctx_));
    std::string request;
    AppendLengthDelimited(request, 7, "*");  // ServerReflectionRequest.list_services
    rw->Write(ToByteBuffer(request));        // and no WritesDone: the stream stays open
    grpc::ByteBuffer response;
    while (rw->Read(&response)) self->Record(/*message=*/true, nullptr);
    const grpc::Status status = rw->Finish();
    self->Record(/*message=*/false, &status);
  });
  return stream;
}

bool BackgroundStream::WaitForMessages(int n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    return messages_ >= n || ended_;
  }) && messages_ >= n;
}

bool BackgroundStream::WaitForEnd(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return ended_; });
}

grpc::Status BackgroundStream::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

absl::Time BackgroundStream::ended_at() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_at_;
}

int BackgroundStream::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, std::string_view service,
                   HealthStatus want, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    StatusOr<HealthStatus> got = CheckHealth(channel, service, absl::Seconds(2));
    if (got.ok() && *got == want) return true;
    // Readiness polling (not synchronisation): the health status flips on a background poll.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace concord::testing
