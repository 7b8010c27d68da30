#include "services/referrals/notifier.h"

#include <nlohmann/json.hpp>

#include "common/status/status_macros.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {
namespace {

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
      AddUnique(out, c.guardianship_service());
      break;
    default:
      AddUnique(out, c.immigration_office());
      AddUnique(out, c.magistrate());
      AddUnique(out, c.guardianship_service());
      break;
  }
  return out;
}

std::string DeadlineBody(const v1::Case& c, v1::DeadlineKind kind, std::string_view stage,
                         absl::Time due, absl::TimeZone zone) {
  // Firings stored before documents "expired" said "due" for the reflection document.
  const std::string_view shown =
      stage == "due" && kind != v1::DEADLINE_KIND_CENTRE_RESPONSE ? "expired" : stage;
  nlohmann::json j = {{"type", "referral.deadline"},
                      {"case_id", c.case_id()},
                      {"deadline", std::string(DeadlineKindName(kind))},
                      {"stage", std::string(shown)},
                      {"due_at", FormatLocalTime(due, zone)},
                      {"state", std::string(StateName(c.state()))},
                      {"text", DeadlineText(kind, shown, due, zone)}};
  if (kind != v1::DEADLINE_KIND_CENTRE_RESPONSE) {
    j["last_day"] = FormatDate(DayIn(due - absl::Nanoseconds(1), zone));
  }
  return j.dump();
}

// ---------------------------------------------------------------------------------------------

notify::OutboxWorkerOptions ReferralsNotifierOptions(std::string consumer) {
  notify::OutboxWorkerOptions o;
  o.consumer = std::move(consumer);
  o.metric_prefix = "concord_referral_notifications";
  o.what = "Referral notifications (transitions, deadline reminders and overdue alerts)";
  o.log_prefix = "referrals";
  o.subject_field = "case_id";
  return o;
}

notify::OutboxEntry ReferralsOutbox::Compose(const OutboxItem& item) {
  notify::OutboxEntry e;
  e.ack_id = item.stream_id;
  e.item_id = item.id;
  e.subject = item.case_id;
  notify::Notification n;
  n.thread_id = item.case_id;
  if (item.type == "deadline") {
    auto c = store_.Get(item.case_id);
    if (!c.ok()) {
      if (c.status().code() != absl::StatusCode::kNotFound) e.status = c.status();
      return e;  // the case is gone: nothing to say
    }
    // A deadline ended between the firing and now (e.g. the centre answered): nothing to say.
    bool running = false;
    for (const v1::Deadline& d : c->deadlines()) {
      if (d.kind() == item.kind &&
          absl::ToUnixMillis(FromProtoTime(d.due_at())) == absl::ToUnixMillis(item.due)) {
        running = true;
      }
    }
    if (!running) return e;
    n.recipients = DeadlineRecipients(*c, item.kind);
    n.body = DeadlineBody(*c, item.kind, item.stage, item.due, zone_);
  } else {
    for (const std::string& key : item.recipients) {
      auto a = ParseAgencyKey(trust_domain_, key);
      if (a.ok()) n.recipients.push_back(*a);
    }
    n.body = item.body;
  }
  if (!n.recipients.empty()) e.notification = std::move(n);
  return e;
}

StatusOr<std::vector<notify::OutboxEntry>> ReferralsOutbox::Read(std::string_view consumer, int max,
                                                                 absl::Duration claim_after) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<OutboxItem> items,
                           store_.ReadOutbox(consumer, max, claim_after));
  std::vector<notify::OutboxEntry> out;
  out.reserve(items.size());
  for (const OutboxItem& item : items) out.push_back(Compose(item));
  return out;
}

Status ReferralsOutbox::Ack(const std::vector<std::string>& ack_ids) {
  return store_.AckOutbox(ack_ids);
}

}  // namespace concord::referrals
