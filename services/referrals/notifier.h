// File: services/referrals/notifier.h
//
// What the referrals service announces, and to whom: case notifications as Concord messages
// (every transition notifies the parties; deadline reminders and overdue alerts likewise).
//
// Outbox pattern, so that nothing is lost: a transition writes its notification into the outbox
// stream in the SAME Lua script that changes the case, and the deadline scheduler moves each
// firing into the outbox in the script that claims it (redis_referral_store.cc). ReferralsOutbox
// presents that stream to the notifier every Concord service shares (common/notify): its
// OutboxWorker reads the items (consumer group: several replicas share the work), composes them
// here, sends them as admin/concord-referrals under message ids keyed with the deployment's
// notifier secret (unpredictable, so no party can take an alert's id first), and acknowledges
// an item only once messaging confirmed it as sent. Bodies carry no personal data: case id,
// transition, states, deadline kind and due time.
//
// Thread safety: ReferralsOutbox is as thread-safe as its store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/notify/outbox_worker.h"
#include "services/referrals/referral_store.h"

namespace concord::referrals {

/// The prefix of referral notification ids ("rn-" + 40 hex digits, common/notify/message_ids.h).
inline constexpr char kNotificationIdPrefix[] = "rn-";

/// The outbox worker options of the referrals notifier: metric concord_referral_notifications_*,
/// log events referrals.notification_*, logs naming the case id.
notify::OutboxWorkerOptions ReferralsNotifierOptions(std::string consumer);

/// Recipients of a deadline firing: centre response -> centre and referrer; reflection end ->
/// centre, magistrate and referrer; document expiry -> centre, Immigration Office, magistrate;
/// and, for a document of an unaccompanied minor, the Guardianship Service.
std::vector<AgencyId> DeadlineRecipients(const v1::Case& c, v1::DeadlineKind kind);

/// The JSON body of a deadline notification; times in `zone` (ISO 8601 with the offset), the
/// last day of a document, "overdue" for the centre's answer and "expires"/"expired" for the
/// documents (DeadlineText).
std::string DeadlineBody(const v1::Case& c, v1::DeadlineKind kind, std::string_view stage,
                         absl::Time due, absl::TimeZone zone);

/// The referrals outbox stream (ReferralStore::ReadOutbox / AckOutbox) as a notify::Outbox. A
/// transition item is sent as queued; a deadline item is composed from the case as it is now,
/// and says nothing (acknowledged unsent) when the deadline ended meanwhile or the case is gone.
class ReferralsOutbox final : public notify::Outbox {
 public:
  ReferralsOutbox(ReferralStore& store, std::string trust_domain, absl::TimeZone zone)
      : store_(store), trust_domain_(std::move(trust_domain)), zone_(zone) {}

  StatusOr<std::vector<notify::OutboxEntry>> Read(std::string_view consumer, int max,
                                                  absl::Duration claim_after) override;
  Status Ack(const std::vector<std::string>& ack_ids) override;

 private:
  notify::OutboxEntry Compose(const OutboxItem& item);

  ReferralStore& store_;
  const std::string trust_domain_;
  const absl::TimeZone zone_;
};

}  // namespace concord::referrals
