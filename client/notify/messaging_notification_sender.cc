#include "client/notify/messaging_notification_sender.h"

#include <grpcpp/grpcpp.h>

#include <mutex>

#include "absl/time/clock.h"
#include "client/messaging/message_crypto.h"
#include "client/messaging/messaging_client.h"
#include "common/status/status_macros.h"

namespace concord::notify {
namespace {

namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;

mc::AgencyProto ToProto(const AgencyId& agency) {
  mc::AgencyProto out;
  out.set_trust_domain(agency.trust_domain);
  out.set_type(AgencyTypeToProto(agency.type));
  out.set_id(agency.id);
  return out;
}

}  // namespace

struct MessagingNotificationSender::Impl {
  Impl(NotifierIdentity id, std::function<std::string()> target_fn)
      : me(id.agency),
        tls(id.tls),
        identity{ToProto(id.agency), std::move(id.signing_key), std::move(id.sealing_key)},
        target(std::move(target_fn)) {}

  AgencyId me;
  TlsFiles tls;
  mc::SenderIdentity identity;
  std::function<std::string()> target;
  std::mutex mu;
  std::unique_ptr<mc::MessagingClient> client;  // guarded by mu

  StatusOr<mc::MessagingClient*> Client() {
    std::lock_guard<std::mutex> lock(mu);
    if (client) return client.get();
    const std::string address = target();
    if (address.empty()) return absl::UnavailableError("messaging target not known yet");
    auto channel = grpc::CreateChannel(address, MakeChannelCredentials(tls));
    mc::ClientOptions options;
    options.deadline = absl::Seconds(10);
    client = std::make_unique<mc::MessagingClient>(channel, identity, options);
    return client.get();
  }
};

MessagingNotificationSender::MessagingNotificationSender(NotifierIdentity identity,
                                                         std::function<std::string()> target)
    : impl_(std::make_unique<Impl>(std::move(identity), std::move(target))) {}

MessagingNotificationSender::~MessagingNotificationSender() = default;

const AgencyId& MessagingNotificationSender::identity() const { return impl_->me; }

Status MessagingNotificationSender::Send(const Notification& n, std::string_view message_id) {
  CONCORD_ASSIGN_OR_RETURN(mc::MessagingClient * client, impl_->Client());
  mc::MessageDraft draft;
  draft.message_id = std::string(message_id);
  draft.thread_id = n.thread_id;  // e.g. a random case id; the case reference stays empty (an
                                  // envelope's case reference is a file number, not an id)
  draft.kind = mv1::MESSAGE_KIND_NOTIFICATION;
  draft.classification = mv1::CLASSIFICATION_RESTRICTED;
  draft.handling_code = mv1::HANDLING_CODE_H0;
  draft.time_to_live = absl::Hours(24 * 30);
  draft.body = n.body;
  std::vector<mc::AgencyProto> recipients;
  recipients.reserve(n.recipients.size());
  for (const AgencyId& r : n.recipients) recipients.push_back(ToProto(r));
  if (!n.sealing_key_pems.empty()) {
    // Sealed to the keys given (e.g. the key an agency had before a directory change), not to
    // the directory's current ones.
    if (n.sealing_key_pems.size() != recipients.size()) {
      return absl::InvalidArgumentError("one sealing key per recipient");
    }
    for (size_t i = 0; i < recipients.size(); ++i) {
      CONCORD_ASSIGN_OR_RETURN(crypto::X25519PublicKey key,
                               crypto::X25519PublicKey::FromPem(n.sealing_key_pems[i]));
      draft.recipients.push_back(mc::Recipient{recipients[i], std::move(key)});
    }
    CONCORD_ASSIGN_OR_RETURN(mv1::Envelope envelope,
                             mc::BuildEnvelope(impl_->identity, draft, absl::Now()));
    return client->Send(envelope).status();
  }
  // OK (including duplicate = true, which messaging answers only to the sender of an identical
  // envelope) is ours; ALREADY_EXISTS goes back to the delivery rule, never taken for "sent".
  return client->SendMessage(std::move(draft), recipients, {}).status();
}

}  // namespace concord::notify
