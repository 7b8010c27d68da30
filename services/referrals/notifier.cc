#include "services/referrals/notifier.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/messaging/messaging_client.h"
#include "common/crypto/hash.h"
#include "common/identity/caller.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/tls/tls.h"
#include "prometheus/family.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {
namespace {

namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Permanent(const Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kNotFound ||
         s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kPermissionDenied;
}

void AddUnique(std::vector<AgencyId>& out, const concord::common::v1::AgencyId& a) {
  if (IsUnset(a)) return;
  auto id = AgencyIdFromProto(a);
  if (!id.ok()) return;
  for (const AgencyId& x : out) {
    if (x.type == id->type && x.id == id->id) return;
  }
  out.push_back(*id);
}

}  // namespace

std::string NotificationMessageId(std::string_view item_id) {
  return "rn-" + crypto::Sha256Hex(item_id).substr(0, 40);
}

std::vector<AgencyId> DeadlineRecipients(const v1::Case& c, v1::DeadlineKind kind) {
  std::vector<AgencyId> out;
  AddUnique(out, c.receiving_centre());
  switch (kind) {
    case v1::DEADLINE_KIND_CENTRE_RESPONSE:
      AddUnique(out, c.referring_agency());
      break;
    case v1::DEADLINE_KIND_REFLECTION_END:
      AddUnique(out, c.magistrate());
      AddUnique(out, c.referring_agency());
      break;
    default:
      AddUnique(out, c.immigration_office());
      AddUnique(out, c.magistrate());
      break;
  }
  return out;
}

std::string DeadlineBody(const v1::Case& c, v1::DeadlineKind kind, std::string_view stage,
                         absl::Time due) {
  std::string text;
  if (kind == v1::DEADLINE_KIND_CENTRE_RESPONSE) {
    text = "the receiving centre has not answered the referral within the time allowed";
  } else if (stage == "reminder") {
    text = std::string(DeadlineKindName(kind)) + " is due on " + absl::FormatTime(due);
  } else {
    text = std::string(DeadlineKindName(kind)) + " is overdue since " + absl::FormatTime(due);
  }
  nlohmann::json j = {{"type", "referral.deadline"},
                      {"case_id", c.case_id()},
                      {"deadline", std::string(DeadlineKindName(kind))},
                      {"stage", std::string(stage)},
                      {"due_at", absl::FormatTime(absl::RFC3339_sec, due, absl::UTCTimeZone())},
                      {"state", std::string(StateName(c.state()))},
                      {"text", text}};
  return j.dump();
}

// ---------------------------------------------------------------------------------------------

struct MessagingNotificationSender::Impl {
  TlsFiles tls;
  AgencyId me;
  std::optional<mc::SenderIdentity> identity;  // set once by Create
  std::function<std::string()> target;
  std::mutex mu;
  std::unique_ptr<mc::MessagingClient> client;  // guarded by mu

  StatusOr<mc::MessagingClient*> Client() {
    std::lock_guard<std::mutex> lock(mu);
    if (client) return client.get();
    const std::string address = target();
    if (address.empty()) return absl::UnavailableError("messaging target not known yet");
    auto channel = grpc::CreateChannel(address, MakeChannelCredentials(tls));
    client = std::make_unique<mc::MessagingClient>(
        channel, *identity,
        mc::ClientOptions{.deadline = absl::Seconds(10), .officer = "", .justification = ""});
    return client.get();
  }
};

MessagingNotificationSender::MessagingNotificationSender(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
MessagingNotificationSender::~MessagingNotificationSender() = default;

const AgencyId& MessagingNotificationSender::identity() const { return impl_->me; }

StatusOr<std::unique_ptr<MessagingNotificationSender>> MessagingNotificationSender::Create(
    const std::string& dir, const std::string& ca_file, const std::string& trust_domain,
    std::function<std::string()> target) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  impl->tls = TlsFiles{(fs::path(dir) / "cert.pem").string(), (fs::path(dir) / "key.pem").string(),
                       ca_file};
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadFile(impl->tls.cert_file));
  CONCORD_ASSIGN_OR_RETURN(Caller caller, CallerFromPemCertificate(pem));
  if (caller.agency.trust_domain != trust_domain) {
    return absl::InvalidArgumentError(
        absl::StrCat("--referrals-notifier-dir: the certificate is of trust domain ",
                     caller.agency.trust_domain, ", not ", trust_domain));
  }
  if (caller.agency.type != AgencyType::kAdmin || !caller.agency.id.starts_with("concord-")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--referrals-notifier-dir: the notifier must be an admin/concord-* identity, "
                     "the certificate is ",
                     caller.agency.Key()));
  }
  impl->me = caller.agency;
  CONCORD_ASSIGN_OR_RETURN(
      crypto::Ed25519PrivateKey signing,
      crypto::Ed25519PrivateKey::FromPemFile((fs::path(dir) / "sign.key").string()));
  CONCORD_ASSIGN_OR_RETURN(
      crypto::X25519PrivateKey sealing,
      crypto::X25519PrivateKey::FromPemFile((fs::path(dir) / "seal.key").string()));
  impl->identity =
      mc::SenderIdentity{AgencyIdToProto(caller.agency), std::move(signing), std::move(sealing)};
  impl->target = std::move(target);
  return std::unique_ptr<MessagingNotificationSender>(
      new MessagingNotificationSender(std::move(impl)));
}

Status MessagingNotificationSender::Send(const OutgoingNotification& n) {
  CONCORD_ASSIGN_OR_RETURN(mc::MessagingClient * client, impl_->Client());
  mc::MessageDraft draft;
  draft.message_id = n.message_id;
  draft.thread_id = n.case_id;  // the case id is random; the case reference stays empty (an
                                // envelope's case reference is a file number, not an id)
  draft.kind = mv1::MESSAGE_KIND_NOTIFICATION;
  draft.classification = mv1::CLASSIFICATION_RESTRICTED;
  draft.handling_code = mv1::HANDLING_CODE_H0;
  draft.time_to_live = absl::Hours(24 * 30);
  draft.body = n.body;
  std::vector<mc::AgencyProto> recipients;
  for (const AgencyId& r : n.recipients) recipients.push_back(AgencyIdToProto(r));
  auto sent = client->SendMessage(std::move(draft), recipients, {});
  if (!sent.ok() && sent.status().code() == absl::StatusCode::kAlreadyExists) {
    return absl::OkStatus();  // stored by an earlier attempt (the envelope differs in its keys)
  }
  return sent.status();
}

// ---------------------------------------------------------------------------------------------

OutboxWorker::OutboxWorker(ReferralStore& store, NotificationSender* sender,
                           metrics::Metrics& metrics, OutboxWorkerOptions options)
    : store_(store), sender_(sender), options_(std::move(options)) {
  sent_family_ = &prometheus::BuildCounter()
                      .Name("concord_referral_notifications_total")
                      .Help(
                          "Referral notifications (transitions, deadline reminders and overdue "
                          "alerts) by outcome: sent as a Concord message, dropped (recipient "
                          "unknown or suspended), failed (will be retried).")
                      .Register(metrics.registry());
  sent_ = &sent_family_->Add({{"outcome", "sent"}});
  dropped_ = &sent_family_->Add({{"outcome", "dropped"}});
  failed_ = &sent_family_->Add({{"outcome", "failed"}});
}

OutboxWorker::~OutboxWorker() { Stop(); }

void OutboxWorker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || sender_ == nullptr) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    StatusOr<int> done = RunOnce();
    lock.lock();
    // A full batch: go on at once; otherwise wait (new items are picked up within a second).
    if (done.ok() && *done >= options_.batch) continue;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.idle_interval), [this] { return stop_; });
  }
}

StatusOr<bool> OutboxWorker::Handle(const OutboxItem& item) {
  OutgoingNotification n;
  n.message_id = NotificationMessageId(item.id);
  n.case_id = item.case_id;
  if (item.type == "deadline") {
    auto c = store_.Get(item.case_id);
    if (!c.ok()) {
      if (c.status().code() == absl::StatusCode::kNotFound) return true;
      return c.status();
    }
    // A deadline ended between the firing and now (e.g. the centre answered): nothing to say.
    bool running = false;
    for (const v1::Deadline& d : c->deadlines()) {
      if (d.kind() == item.kind &&
          absl::ToUnixMillis(FromProtoTime(d.due_at())) == absl::ToUnixMillis(item.due)) {
        running = true;
      }
    }
    if (!running) return true;
    n.recipients = DeadlineRecipients(*c, item.kind);
    n.body = DeadlineBody(*c, item.kind, item.stage, item.due);
  } else {
    for (const std::string& key : item.recipients) {
      auto a = ParseAgencyKey(options_.trust_domain, key);
      if (a.ok()) n.recipients.push_back(*a);
    }
    n.body = item.body;
  }
  if (n.recipients.empty()) return true;
  Status s = sender_->Send(n);
  if (s.ok()) {
    sent_->Increment();
    return true;
  }
  if (Permanent(s)) {
    dropped_->Increment();
    log::Event(log::Level::kWarn, "referrals.notification_dropped",
               {{"case_id", item.case_id},
                {"item", item.id},
                {"code", absl::StatusCodeToString(s.code())},
                {"error", std::string(s.message())}});
    return true;
  }
  failed_->Increment();
  return s;
}

StatusOr<int> OutboxWorker::RunOnce() {
  if (sender_ == nullptr) return 0;
  CONCORD_ASSIGN_OR_RETURN(
      std::vector<OutboxItem> items,
      store_.ReadOutbox(options_.consumer, options_.batch, options_.claim_after));
  std::vector<std::string> done;
  for (const OutboxItem& item : items) {
    StatusOr<bool> handled = Handle(item);
    if (handled.ok() && *handled) {
      done.push_back(item.stream_id);
    } else if (!handled.ok()) {
      log::Event(log::Level::kWarn, "referrals.notification_retry",
                 {{"case_id", item.case_id},
                  {"code", absl::StatusCodeToString(handled.status().code())},
                  {"error", std::string(handled.status().message())}});
      break;  // messaging or Redis is down: the rest waits for the next round
    }
  }
  if (!done.empty()) CONCORD_RETURN_IF_ERROR(store_.AckOutbox(done));
  return static_cast<int>(done.size());
}

}  // namespace concord::referrals
