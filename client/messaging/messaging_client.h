// File: client/messaging/messaging_client.h
//
// The gRPC half of the agency-side messaging library: what `concordctl message ...` and agency
// systems call. It wraps the concord.messaging.v1 stub (deadline on every unary call, the
// concord-officer / concord-justification metadata) and combines it with message_crypto.h and
// the directory (public keys), so that callers deal in plaintext and agency ids only:
//
//   MessagingClient client(channel, me, {.officer = "officer-17"});
//   CONCORD_ASSIGN_OR_RETURN(v1::SendResponse sent,
//       client.SendMessage(draft_without_keys, {payoke_id}, {{"scan.pdf", "application/pdf",
//       pdf}}));
//   CONCORD_ASSIGN_OR_RETURN(OpenedMessage m, client.Read(message_id));   // verified + unsealed
//
// Errors are concord::Status (FromGrpcStatus keeps the server's reason and field violations).
// Thread safety: a MessagingClient may be used from several threads (gRPC stubs are thread-safe).
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/messaging/message_crypto.h"
#include "client/messaging/resume_backoff.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"

namespace concord::messaging::client {

struct ClientOptions {
  absl::Duration deadline = absl::Seconds(30);  // every unary and attachment call
  std::string officer;                          // concord-officer metadata ("" = none)
  std::string justification;                    // concord-justification metadata ("" = none)
};

/// Key continuity (client/keys KeyTrust::Check): called with every directory record whose keys
/// a MessagingClient is about to seal to or trust a signature with (every LookupKeys); a non-OK
/// status is returned instead of the keys. Empty: the directory's keys are used as they are.
using TrustKeys = std::function<Status(const AgencyProto& agency,
                                       const ::concord::directory::v1::Agency& record)>;

/// Public keys of an agency, from the directory.
struct AgencyPublicKeys {
  crypto::Ed25519PublicKey signing_key;
  crypto::X25519PublicKey sealing_key;
};

/// A file to attach: sealed in memory, uploaded in chunks.
struct FileToAttach {
  std::string name;
  std::string media_type;
  std::string content;
};

/// A message verified against the sender's directory key and opened.
struct OpenedMessage {
  v1::Envelope envelope;
  std::string body;  // content.body
  bool acknowledged = false;
  OpenedContent content;  // body, H3 handling text, attachment names, types and digests
};

/// Ends a running Watch from another thread (e.g. on SIGTERM): the open stream is cancelled and
/// a resume delay is cut short; Watch then returns OK. Thread-safe; Stop() is idempotent.
class WatchStop {
 public:
  void Stop();
  bool stopped() const;

 private:
  friend class MessagingClient;
  bool Attach(grpc::ClientContext* ctx);  // false when already stopped
  void Detach();
  bool Wait(absl::Duration delay);  // false when stopped during the wait

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                    // guarded by mu_
  grpc::ClientContext* context_ = nullptr;  // guarded by mu_
};

/// How Watch subscribes and resumes.
struct WatchOptions {
  std::string terminal_id;  // "" = the server's default (serial-<certificate serial>)
  /// Watch returns OK after this long; InfiniteDuration() = until on_delivery returns false,
  /// `stop` is triggered, or a stream ends for a reason that is not resumed.
  absl::Duration max_duration = absl::InfiniteDuration();
  ResumePolicy resume;
  /// Told before each resume: how the stream ended, which attempt follows, after what delay.
  std::function<void(const Status& ended, int attempt, absl::Duration delay)> on_resume;
  WatchStop* stop = nullptr;  // optional; must outlive the Watch call
};

class MessagingClient {
 public:
  /// `channel`: mTLS channel to Concord (both services on it); `me`: the local agency and keys.
  /// `trust_keys`: key continuity for every key lookup (TrustKeys).
  MessagingClient(std::shared_ptr<grpc::Channel> channel, SenderIdentity me,
                  ClientOptions options = {}, TrustKeys trust_keys = nullptr);

  /// Directory lookup (Directory/GetAgency), checked by the TrustKeys hook when set, keys
  /// parsed from PEM.
  StatusOr<AgencyPublicKeys> LookupKeys(const AgencyProto& agency);

  /// Looks up every recipient's sealing key, seals and uploads the files, builds, seals and
  /// signs the envelope (draft.recipients and draft.attachments are filled here) and sends it.
  StatusOr<v1::SendResponse> SendMessage(MessageDraft draft,
                                         const std::vector<AgencyProto>& recipients,
                                         const std::vector<FileToAttach>& files = {});

  /// Raw calls.
  StatusOr<v1::SendResponse> Send(const v1::Envelope& envelope);
  StatusOr<v1::UploadAttachmentResponse> Upload(const SealedAttachment& attachment);
  StatusOr<v1::ListInboxResponse> ListInbox(const v1::ListInboxRequest& request);
  StatusOr<v1::InboxEntry> Get(const std::string& message_id);
  StatusOr<uint32_t> Ack(const std::vector<std::string>& message_ids);
  StatusOr<std::vector<v1::Receipt>> ListReceipts(const std::string& message_id);
  StatusOr<std::vector<v1::AttachmentChunk>> DownloadChunks(const std::string& message_id,
                                                            const std::string& attachment_id);

  /// Get + verify the signature against the sender's directory key + open.
  StatusOr<OpenedMessage> Read(const std::string& message_id);
  /// Verify + open an envelope already at hand (e.g. from Watch): the body, or all the content.
  StatusOr<std::string> VerifyAndOpenEnvelope(const v1::Envelope& envelope);
  StatusOr<OpenedContent> VerifyAndOpenEnvelopeContent(const v1::Envelope& envelope);
  /// Downloads, checks against the signed reference and opens one attachment.
  StatusOr<std::string> ReadAttachment(const v1::Envelope& envelope,
                                       const std::string& attachment_id);

  /// Signs and sends a delivered/read receipt for `envelope`.
  Status SendReceipt(const v1::Envelope& envelope, v1::ReceiptKind kind);
  /// Receipts of a message this agency sent, each verified against the recipient's key
  /// (PERMISSION_DENIED if one does not verify).
  StatusOr<std::vector<v1::Receipt>> VerifiedReceipts(const std::string& message_id);

  /// Opens the original (must be in this agency's inbox), re-seals it for `recipients` and
  /// forwards it (without its attachments); `permission` is the root provider's signed
  /// permission (needed for H2 originals going to new agencies).
  StatusOr<v1::SendResponse> Forward(const std::string& original_message_id,
                                     const std::vector<AgencyProto>& recipients,
                                     std::optional<v1::ForwardPermission> permission);

  /// Subscribes and calls `on_delivery` for each delivery until it returns false (then OK).
  /// When the server or the connection ends the stream (maximum connection age, GOAWAY, a
  /// restart: resume_backoff.h lists the codes) Watch opens a new one after a bounded, jittered
  /// backoff; the server then delivers again what was delivered but not acknowledged, so
  /// `on_delivery` may see a message id twice: de-duplicating by message id is the caller's job
  /// (acknowledge with Ack once a message is processed). Returns OK when `max_duration` passes
  /// or `options.stop` is triggered; the stream's error when it is not resumable
  /// (UNAUTHENTICATED with reason CERTIFICATE_REVOKED or AGENCY_SUSPENDED, PERMISSION_DENIED,
  /// INVALID_ARGUMENT, ...), or the last error once resume.max_attempts streams in a row failed.
  Status Watch(const WatchOptions& options,
               const std::function<bool(const v1::Delivery&)>& on_delivery);
  /// Watch with the default resume policy.
  Status Watch(const std::string& terminal_id,
               const std::function<bool(const v1::Delivery&)>& on_delivery,
               absl::Duration max_duration);

  const SenderIdentity& identity() const { return me_; }

 private:
  void Prepare(grpc::ClientContext& ctx, absl::Duration deadline) const;

  std::unique_ptr<v1::Messaging::Stub> messaging_;
  std::unique_ptr<::concord::directory::v1::Directory::Stub> directory_;
  SenderIdentity me_;
  ClientOptions options_;
  TrustKeys trust_keys_;
};

}  // namespace concord::messaging::client
