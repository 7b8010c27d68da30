// File: client/guidelines/guidelines_client.cc
#include "client/guidelines/guidelines_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/guideline/guideline_proto.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::guidelines::client {
namespace {

namespace dv1 = ::concord::directory::v1;

Status FromGrpc(const grpc::Status& s) { return FromGrpcStatus(s); }

}  // namespace

StatusOr<guideline::SignedVersion> VerifyReceivedVersion(
    const v1::GuidelineVersion& version, const crypto::Ed25519PublicKey& publisher_key) {
  CONCORD_ASSIGN_OR_RETURN(guideline::SignedVersion signed_version,
                           guideline::SignedVersionFromProto(version));
  CONCORD_RETURN_IF_ERROR(
      guideline::VerifyVersion(signed_version, version.sha256(), publisher_key));
  return signed_version;
}

StatusOr<guideline::SignedWithdrawal> VerifyReceivedWithdrawal(
    const v1::Withdrawal& withdrawal, const crypto::Ed25519PublicKey& key) {
  CONCORD_ASSIGN_OR_RETURN(guideline::SignedWithdrawal signed_withdrawal,
                           guideline::SignedWithdrawalFromProto(withdrawal));
  CONCORD_RETURN_IF_ERROR(guideline::VerifyWithdrawal(signed_withdrawal, key));
  return signed_withdrawal;
}

std::string EventKey(const v1::GuidelineEvent& event) {
  if (event.has_withdrawal()) {
    return absl::StrCat("w:", event.withdrawal().guideline_id(), "@", event.withdrawal().version());
  }
  return absl::StrCat("v:", event.version().guideline_id(), "@", event.version().version());
}

void WatchStop::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  if (context_ != nullptr) context_->TryCancel();
  cv_.notify_all();
}

bool WatchStop::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool WatchStop::Attach(grpc::ClientContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return false;
  context_ = ctx;
  return true;
}

void WatchStop::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  context_ = nullptr;
}

bool WatchStop::Wait(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stopped_; });
}

GuidelinesClient::GuidelinesClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                                   messaging::client::TrustKeys trust_keys)
    : guidelines_(v1::Guidelines::NewStub(channel)),
      directory_(dv1::Directory::NewStub(channel)),
      options_(std::move(options)),
      trust_keys_(std::move(trust_keys)) {}

void GuidelinesClient::Prepare(grpc::ClientContext& ctx) const {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  if (!options_.officer.empty()) ctx.AddMetadata("concord-officer", options_.officer);
  if (!options_.justification.empty()) {
    ctx.AddMetadata("concord-justification", options_.justification);
  }
}

StatusOr<crypto::Ed25519PublicKey> GuidelinesClient::SigningKey(const AgencyId& agency) {
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    auto it = keys_.find(agency.Key());
    if (it != keys_.end()) return it->second;
  }
  grpc::ClientContext ctx;
  Prepare(ctx);
  dv1::GetAgencyRequest req;
  guideline::AgencyToProto(agency, *req.mutable_id());
  dv1::GetAgencyResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(directory_->GetAgency(&ctx, req, &resp)));
  if (trust_keys_) CONCORD_RETURN_IF_ERROR(trust_keys_(req.id(), resp.agency()));
  CONCORD_ASSIGN_OR_RETURN(
      crypto::Ed25519PublicKey key,
      crypto::Ed25519PublicKey::FromPem(resp.agency().signing_public_key_pem()));
  std::lock_guard<std::mutex> lock(keys_mu_);
  keys_.emplace(agency.Key(), key);
  return key;
}

Status GuidelinesClient::Verify(const v1::GuidelineVersion& version) {
  auto publisher = guideline::AgencyFromProto(version.publisher());
  if (!publisher.ok()) {
    return guideline::VerificationFailed(version.guideline_id(), version.version(),
                                         "it names no valid publisher");
  }
  StatusOr<crypto::Ed25519PublicKey> key = SigningKey(*publisher);
  if (!key.ok()) {
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return guideline::VerificationFailed(
          version.guideline_id(), version.version(),
          absl::StrCat("its publisher ", publisher->Key(), " is not in the directory"));
    }
    return key.status();
  }
  return VerifyReceivedVersion(version, *key).status();
}

Status GuidelinesClient::Verify(const v1::Withdrawal& withdrawal) {
  auto by = guideline::AgencyFromProto(withdrawal.withdrawn_by());
  if (!by.ok()) {
    return guideline::VerificationFailed(withdrawal.guideline_id(), withdrawal.version(),
                                         "its withdrawal names no valid agency");
  }
  CONCORD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, SigningKey(*by));
  return VerifyReceivedWithdrawal(withdrawal, key).status();
}

StatusOr<v1::PublishResponse> GuidelinesClient::Publish(const guideline::SignedVersion& version) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::PublishRequest req;
  guideline::SignedVersionToProto(version, "", *req.mutable_version());
  v1::PublishResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Publish(&ctx, req, &resp)));
  return resp;
}

StatusOr<v1::WithdrawResponse> GuidelinesClient::Withdraw(
    const guideline::SignedWithdrawal& withdrawal) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::WithdrawRequest req;
  guideline::SignedWithdrawalToProto(withdrawal, *req.mutable_withdrawal());
  v1::WithdrawResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Withdraw(&ctx, req, &resp)));
  return resp;
}

StatusOr<v1::GetResponse> GuidelinesClient::Get(const v1::GetRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Get(&ctx, request, &resp)));
  return resp;
}

StatusOr<v1::GetResponse> GuidelinesClient::GetVerified(const v1::GetRequest& request) {
  CONCORD_ASSIGN_OR_RETURN(v1::GetResponse resp, Get(request));
  CONCORD_RETURN_IF_ERROR(Verify(resp.version()));
  if (resp.status().has_withdrawal()) CONCORD_RETURN_IF_ERROR(Verify(resp.status().withdrawal()));
  return resp;
}

StatusOr<v1::ListResponse> GuidelinesClient::List(const v1::ListRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ListResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->List(&ctx, request, &resp)));
  return resp;
}

StatusOr<v1::DiffResponse> GuidelinesClient::Diff(const v1::DiffRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::DiffResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Diff(&ctx, request, &resp)));
  // The diff names the two hashes it compared: they must be those of versions that verify.
  for (const auto& [n, sha] : {std::pair{request.from_version(), resp.from_sha256()},
                               std::pair{request.to_version(), resp.to_sha256()}}) {
    v1::GetRequest get;
    get.set_guideline_id(request.guideline_id());
    get.set_version(n);
    CONCORD_ASSIGN_OR_RETURN(v1::GetResponse got, GetVerified(get));
    if (got.version().sha256() != sha) {
      return guideline::VerificationFailed(request.guideline_id(), n,
                                           "the diff compared other content");
    }
  }
  return resp;
}

StatusOr<v1::AcknowledgeResponse> GuidelinesClient::Acknowledge(const std::string& guideline_id,
                                                                int64_t version,
                                                                const std::string& sha256) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::AcknowledgeRequest req;
  req.set_guideline_id(guideline_id);
  req.set_version(version);
  req.set_sha256(sha256);
  v1::AcknowledgeResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Acknowledge(&ctx, req, &resp)));
  return resp;
}

StatusOr<v1::ComplianceResponse> GuidelinesClient::Compliance(const std::string& guideline_id,
                                                              int64_t version) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ComplianceRequest req;
  req.set_guideline_id(guideline_id);
  req.set_version(version);
  v1::ComplianceResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(guidelines_->Compliance(&ctx, req, &resp)));
  return resp;
}

Status GuidelinesClient::Watch(
    const WatchOptions& options,
    const std::function<bool(const v1::GuidelineEvent&, const Status&)>& on_event) {
  const absl::Time end = options.max_duration == absl::InfiniteDuration()
                             ? absl::InfiniteFuture()
                             : absl::Now() + options.max_duration;
  WatchStop local_stop;
  WatchStop& stop = options.stop != nullptr ? *options.stop : local_stop;
  messaging::client::ResumeBackoff backoff(options.resume);
  std::string cursor = options.after_cursor;
  std::set<std::string> seen;
  // Bounded: every pass opens one stream; passes end at `end`, on stop, on a terminal status, or
  // after max_attempts failed streams in a row.
  while (true) {
    grpc::ClientContext ctx;
    if (end != absl::InfiniteFuture()) ctx.set_deadline(absl::ToChronoTime(end));
    if (!options_.officer.empty()) ctx.AddMetadata("concord-officer", options_.officer);
    if (!stop.Attach(&ctx)) return absl::OkStatus();
    const absl::Time opened = absl::Now();
    bool delivered = false;
    bool enough = false;
    v1::SubscribeRequest req;
    req.set_after_cursor(cursor);
    auto reader = guidelines_->Subscribe(&ctx, req);
    v1::GuidelineEvent event;
    while (reader->Read(&event)) {
      delivered = true;
      cursor = event.cursor();
      if (!seen.insert(EventKey(event)).second) continue;  // delivered by an earlier stream
      const Status verified =
          event.has_withdrawal() ? Verify(event.withdrawal()) : Verify(event.version());
      if (!on_event(event, verified)) {
        enough = true;
        ctx.TryCancel();
        break;
      }
    }
    const grpc::Status status = reader->Finish();
    stop.Detach();
    if (enough || stop.stopped()) return absl::OkStatus();
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && absl::Now() >= end) {
      return absl::OkStatus();
    }
    if (!messaging::client::IsResumable(status.error_code())) return FromGrpc(status);
    if (delivered || absl::Now() - opened >= backoff.policy().reset_after) backoff.Reset();
    if (backoff.exhausted()) return FromGrpc(status);
    const absl::Duration delay = backoff.Next();
    if (options.on_resume) options.on_resume(FromGrpc(status), backoff.attempts(), delay);
    if (absl::Now() + delay >= end) {
      stop.Wait(end - absl::Now());
      return absl::OkStatus();
    }
    if (!stop.Wait(delay)) return absl::OkStatus();
  }
}

}  // namespace concord::guidelines::client
