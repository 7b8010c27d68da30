#include "services/liaison/notifier.h"

#include <nlohmann/json.hpp>

#include "common/status/status_macros.h"
#include "services/liaison/clocks.h"
#include "services/liaison/ids.h"
#include "services/liaison/requests.h"

namespace concord::liaison {

notify::OutboxWorkerOptions LiaisonNotifierOptions(std::string consumer) {
  notify::OutboxWorkerOptions o;
  o.consumer = std::move(consumer);
  o.metric_prefix = "concord_liaison_notifications";
  o.what = "Liaison notifications (changes, 8-hour alerts, clock reminders and overdue alerts)";
  o.log_prefix = "liaison";
  o.subject_field = "request_id";
  return o;
}

std::vector<AgencyId> ClockRecipients(const v1::Request& r) {
  std::vector<AgencyId> out;
  for (const auto* p : {&r.executor(), &r.issuer()}) {
    auto id = AgencyIdFromProto(*p);
    if (!id.ok()) continue;
    const AgencyType t = id->type;
    if (t == AgencyType::kForeignPartner || t == AgencyType::kAdmin ||
        t == AgencyType::kCoordinationUnit) {
      continue;
    }
    out.push_back(*id);
  }
  return out;
}

std::string ClockBody(const v1::Request& r, v1::ClockKind clock, std::string_view stage,
                      absl::Time due) {
  std::string zone_name;
  for (const v1::Clock& c : r.clocks()) {
    if (c.kind() == clock) zone_name = c.time_zone();
  }
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!zone_name.empty()) (void)absl::LoadTimeZone(zone_name, &zone);
  nlohmann::json j = {{"type", "liaison.clock"},
                      {"request_id", r.request_id()},
                      {"request_type", std::string(TypeName(r.type()))},
                      {"clock", std::string(ClockKindName(clock))},
                      {"stage", std::string(stage)},
                      {"due_at", absl::FormatTime(absl::RFC3339_sec, due, absl::UTCTimeZone())},
                      {"due_local", absl::FormatTime("%Y-%m-%d %H:%M %Z", due, zone)},
                      {"time_zone", zone_name},
                      {"state", std::string(StateName(r.state()))}};
  return j.dump();
}

notify::OutboxEntry LiaisonOutbox::Compose(const OutboxItem& item) {
  notify::OutboxEntry e;
  e.ack_id = item.stream_id;
  e.item_id = item.id;
  e.subject = item.request_id;
  notify::Notification n;
  n.thread_id = item.request_id;
  if (item.type == "clock") {
    auto r = store_.Get(item.request_id);
    if (!r.ok()) {
      if (r.status().code() != absl::StatusCode::kNotFound) e.status = r.status();
      return e;
    }
    // The clock stopped or moved between the firing and now: nothing to say.
    bool running = false;
    for (const v1::Clock& c : r->clocks()) {
      if (c.kind() == item.clock &&
          absl::ToUnixMillis(FromProtoTime(c.due_at())) == absl::ToUnixMillis(item.due)) {
        running = true;
      }
    }
    if (!running) return e;
    n.recipients = ClockRecipients(*r);
    n.body = ClockBody(*r, item.clock, item.stage, item.due);
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

StatusOr<std::vector<notify::OutboxEntry>> LiaisonOutbox::Read(std::string_view consumer, int max,
                                                               absl::Duration claim_after) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<OutboxItem> items,
                           store_.ReadOutbox(consumer, max, claim_after));
  std::vector<notify::OutboxEntry> out;
  out.reserve(items.size());
  for (const OutboxItem& item : items) out.push_back(Compose(item));
  return out;
}

Status LiaisonOutbox::Ack(const std::vector<std::string>& ack_ids) {
  return store_.AckOutbox(ack_ids);
}

}  // namespace concord::liaison
