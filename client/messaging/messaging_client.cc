#include "client/messaging/messaging_client.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::messaging::client {
namespace {

namespace dv1 = ::concord::directory::v1;

Status FromGrpc(const grpc::Status& s) { return FromGrpcStatus(s); }

}  // namespace

MessagingClient::MessagingClient(std::shared_ptr<grpc::Channel> channel, SenderIdentity me,
                                 ClientOptions options, TrustKeys trust_keys)
    : messaging_(v1::Messaging::NewStub(channel)),
      directory_(dv1::Directory::NewStub(channel)),
      me_(std::move(me)),
      options_(std::move(options)),
      trust_keys_(std::move(trust_keys)) {}

void MessagingClient::Prepare(grpc::ClientContext& ctx, absl::Duration deadline) const {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!options_.officer.empty()) ctx.AddMetadata("concord-officer", options_.officer);
  if (!options_.justification.empty()) {
    ctx.AddMetadata("concord-justification", options_.justification);
  }
}

StatusOr<AgencyPublicKeys> MessagingClient::LookupKeys(const AgencyProto& agency) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  dv1::GetAgencyRequest req;
  *req.mutable_id() = agency;
  dv1::GetAgencyResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(directory_->GetAgency(&ctx, req, &resp)));
  // Security: key continuity - a changed key is refused here, before any seal or verify.
  if (trust_keys_) CONCORD_RETURN_IF_ERROR(trust_keys_(agency, resp.agency()));
  CONCORD_ASSIGN_OR_RETURN(
      crypto::Ed25519PublicKey signing,
      crypto::Ed25519PublicKey::FromPem(resp.agency().signing_public_key_pem()));
  CONCORD_ASSIGN_OR_RETURN(
      crypto::X25519PublicKey sealing,
      crypto::X25519PublicKey::FromPem(resp.agency().sealing_public_key_pem()));
  return AgencyPublicKeys{std::move(signing), std::move(sealing)};
}

StatusOr<v1::SendResponse> MessagingClient::SendMessage(MessageDraft draft,
                                                        const std::vector<AgencyProto>& recipients,
                                                        const std::vector<FileToAttach>& files) {
  draft.recipients.clear();
  for (const AgencyProto& r : recipients) {
    CONCORD_ASSIGN_OR_RETURN(AgencyPublicKeys keys, LookupKeys(r));
    draft.recipients.push_back({r, keys.sealing_key});
  }
  draft.attachments.clear();
  for (const FileToAttach& f : files) {
    CONCORD_ASSIGN_OR_RETURN(SealedAttachment sealed,
                             SealAttachment("", f.name, f.media_type, f.content, draft.recipients));
    CONCORD_RETURN_IF_ERROR(Upload(sealed).status());
    draft.attachments.push_back(sealed.reference);
  }
  CONCORD_ASSIGN_OR_RETURN(v1::Envelope envelope, BuildEnvelope(me_, draft, absl::Now()));
  return Send(envelope);
}

StatusOr<v1::SendResponse> MessagingClient::Send(const v1::Envelope& envelope) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::SendRequest req;
  *req.mutable_envelope() = envelope;
  v1::SendResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->Send(&ctx, req, &resp)));
  return resp;
}

StatusOr<v1::UploadAttachmentResponse> MessagingClient::Upload(const SealedAttachment& attachment) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::UploadAttachmentResponse resp;
  auto writer = messaging_->UploadAttachment(&ctx, &resp);
  v1::UploadAttachmentRequest part;
  *part.mutable_header() = attachment.header;
  bool ok = writer->Write(part);
  for (size_t i = 0; ok && i < attachment.chunks.size(); ++i) {
    *part.mutable_chunk() = attachment.chunks[i];
    ok = writer->Write(part);
  }
  writer->WritesDone();
  CONCORD_RETURN_IF_ERROR(FromGrpc(writer->Finish()));
  return resp;
}

StatusOr<v1::ListInboxResponse> MessagingClient::ListInbox(const v1::ListInboxRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::ListInboxResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->ListInbox(&ctx, request, &resp)));
  return resp;
}

StatusOr<v1::InboxEntry> MessagingClient::Get(const std::string& message_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::GetRequest req;
  req.set_message_id(message_id);
  v1::GetResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->Get(&ctx, req, &resp)));
  return resp.entry();
}

StatusOr<uint32_t> MessagingClient::Ack(const std::vector<std::string>& message_ids) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::AckRequest req;
  for (const std::string& id : message_ids) req.add_message_ids(id);
  v1::AckResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->Ack(&ctx, req, &resp)));
  return resp.acknowledged();
}

StatusOr<std::vector<v1::Receipt>> MessagingClient::ListReceipts(const std::string& message_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::ListReceiptsRequest req;
  req.set_message_id(message_id);
  v1::ListReceiptsResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->ListReceipts(&ctx, req, &resp)));
  return std::vector<v1::Receipt>(resp.receipts().begin(), resp.receipts().end());
}

StatusOr<std::vector<v1::AttachmentChunk>> MessagingClient::DownloadChunks(
    const std::string& message_id, const std::string& attachment_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::DownloadAttachmentRequest req;
  req.set_message_id(message_id);
  req.set_attachment_id(attachment_id);
  auto reader = messaging_->DownloadAttachment(&ctx, req);
  std::vector<v1::AttachmentChunk> chunks;
  v1::AttachmentChunk chunk;
  while (reader->Read(&chunk)) chunks.push_back(chunk);
  CONCORD_RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  return chunks;
}

StatusOr<OpenedContent> MessagingClient::VerifyAndOpenEnvelopeContent(
    const v1::Envelope& envelope) {
  CONCORD_ASSIGN_OR_RETURN(AgencyPublicKeys sender, LookupKeys(envelope.sender()));
  return VerifyAndOpenContent(envelope, sender.signing_key, me_.agency, me_.sealing_key);
}

StatusOr<std::string> MessagingClient::VerifyAndOpenEnvelope(const v1::Envelope& envelope) {
  CONCORD_ASSIGN_OR_RETURN(OpenedContent content, VerifyAndOpenEnvelopeContent(envelope));
  return std::move(content.body);
}

StatusOr<OpenedMessage> MessagingClient::Read(const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(v1::InboxEntry entry, Get(message_id));
  CONCORD_ASSIGN_OR_RETURN(OpenedContent content, VerifyAndOpenEnvelopeContent(entry.envelope()));
  std::string body = content.body;
  return OpenedMessage{entry.envelope(), std::move(body), entry.acknowledged(), std::move(content)};
}

StatusOr<std::string> MessagingClient::ReadAttachment(const v1::Envelope& envelope,
                                                      const std::string& attachment_id) {
  // The references (chunk digests and key commitments) and the sealed name and digest are
  // trusted only once the envelope verifies and its content opened under the committed key.
  CONCORD_ASSIGN_OR_RETURN(OpenedContent content, VerifyAndOpenEnvelopeContent(envelope));
  CONCORD_ASSIGN_OR_RETURN(std::vector<v1::AttachmentChunk> chunks,
                           DownloadChunks(envelope.message_id(), attachment_id));
  return OpenAttachment(envelope, content, attachment_id, chunks, me_.agency, me_.sealing_key);
}

Status MessagingClient::SendReceipt(const v1::Envelope& envelope, v1::ReceiptKind kind) {
  CONCORD_ASSIGN_OR_RETURN(v1::Receipt receipt, MakeReceipt(me_, envelope, kind, absl::Now()));
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::SendReceiptRequest req;
  *req.mutable_receipt() = receipt;
  v1::SendReceiptResponse resp;
  return FromGrpc(messaging_->SendReceipt(&ctx, req, &resp));
}

StatusOr<std::vector<v1::Receipt>> MessagingClient::VerifiedReceipts(
    const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<v1::Receipt> receipts, ListReceipts(message_id));
  for (const v1::Receipt& r : receipts) {
    CONCORD_ASSIGN_OR_RETURN(AgencyPublicKeys keys, LookupKeys(r.recipient()));
    CONCORD_RETURN_IF_ERROR(VerifyReceipt(r, keys.signing_key));
  }
  return receipts;
}

StatusOr<v1::SendResponse> MessagingClient::Forward(
    const std::string& original_message_id, const std::vector<AgencyProto>& recipients,
    std::optional<v1::ForwardPermission> permission) {
  CONCORD_ASSIGN_OR_RETURN(OpenedMessage original, Read(original_message_id));
  std::vector<Recipient> targets;
  for (const AgencyProto& r : recipients) {
    CONCORD_ASSIGN_OR_RETURN(AgencyPublicKeys keys, LookupKeys(r));
    targets.push_back({r, keys.sealing_key});
  }
  CONCORD_ASSIGN_OR_RETURN(v1::Envelope envelope,
                           BuildForward(me_, original.envelope, original.content, targets,
                                        std::move(permission), absl::Now()));
  grpc::ClientContext ctx;
  Prepare(ctx, options_.deadline);
  v1::ForwardRequest req;
  *req.mutable_envelope() = envelope;
  v1::SendResponse resp;
  CONCORD_RETURN_IF_ERROR(FromGrpc(messaging_->Forward(&ctx, req, &resp)));
  return resp;
}

// ---- Watch ---------------------------------------------------------------------------------

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

Status MessagingClient::Watch(const WatchOptions& options,
                              const std::function<bool(const v1::Delivery&)>& on_delivery) {
  const absl::Time end = options.max_duration == absl::InfiniteDuration()
                             ? absl::InfiniteFuture()
                             : absl::Now() + options.max_duration;
  WatchStop local_stop;
  WatchStop& stop = options.stop != nullptr ? *options.stop : local_stop;
  ResumeBackoff backoff(options.resume);
  v1::SubscribeRequest req;
  req.set_terminal_id(options.terminal_id);
  // Bounded: every pass opens one stream; passes end at `end`, on stop, on a terminal status, or
  // after max_attempts failed streams in a row.
  while (true) {
    grpc::ClientContext ctx;
    if (end != absl::InfiniteFuture()) ctx.set_deadline(absl::ToChronoTime(end));
    if (!options_.officer.empty()) ctx.AddMetadata("concord-officer", options_.officer);
    if (!options_.justification.empty()) {
      ctx.AddMetadata("concord-justification", options_.justification);
    }
    if (!stop.Attach(&ctx)) return absl::OkStatus();
    const absl::Time opened = absl::Now();
    bool delivered = false;
    bool enough = false;
    auto reader = messaging_->Subscribe(&ctx, req);
    v1::Delivery delivery;
    while (reader->Read(&delivery)) {
      delivered = true;
      if (!on_delivery(delivery)) {
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
    if (!IsResumable(status.error_code())) return FromGrpc(status);
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

Status MessagingClient::Watch(const std::string& terminal_id,
                              const std::function<bool(const v1::Delivery&)>& on_delivery,
                              absl::Duration max_duration) {
  WatchOptions options;
  options.terminal_id = terminal_id;
  options.max_duration = max_duration;
  return Watch(options, on_delivery);
}

}  // namespace concord::messaging::client
