// File: services/directory/announcer.cc
#include "services/directory/announcer.h"

#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace concord::directory {

Status DirectoryAnnouncementOutbox::CheckNotifierRegistered() {
  if (!notifier_.has_value()) return absl::OkStatus();
  StatusOr<Agency> record = store_.Get(*notifier_);
  if (!record.ok() && record.status().code() != absl::StatusCode::kNotFound) {
    return record.status();  // Redis down: the worker retries
  }
  const bool waiting = !record.ok() || record->state != AgencyState::kActive;
  if (waiting_ != nullptr) waiting_->Set(waiting ? 1 : 0);
  if (waiting_ == nullptr || was_waiting_.exchange(waiting) != waiting) {
    if (waiting) {
      log::Event(log::Level::kWarn, "directory.announcer_waiting",
                 {{"identity", notifier_->Key()},
                  {"reason", record.ok() ? "suspended" : "not registered in the directory"}});
    } else {
      log::Event(log::Level::kInfo, "directory.announcer_ready", {{"identity", notifier_->Key()}});
    }
  }
  if (waiting) {
    return absl::FailedPreconditionError(
        "the directory notifier is not registered and active: announcements wait");
  }
  return absl::OkStatus();
}

StatusOr<std::vector<notify::OutboxEntry>> DirectoryAnnouncementOutbox::Read(
    std::string_view consumer, int max, absl::Duration claim_after) {
  // Security/durability: a sender messaging does not know is refused for good; keep everything
  // queued until the notifier identity exists.
  CONCORD_RETURN_IF_ERROR(CheckNotifierRegistered());
  CONCORD_ASSIGN_OR_RETURN(std::vector<QueuedAnnouncement> queued,
                           store_.ReadAnnouncements(consumer, max, claim_after));
  std::vector<notify::OutboxEntry> out;
  out.reserve(queued.size());
  for (QueuedAnnouncement& q : queued) {
    notify::OutboxEntry e;
    e.ack_id = std::move(q.stream_id);
    e.item_id = q.announcement.id;
    e.subject =
        q.announcement.agency.id.empty() ? std::string("invalid") : q.announcement.agency.Key();
    // A malformed entry (no agency) has nothing to say to anyone: acknowledged without sending.
    if (!q.announcement.agency.id.empty() && !q.announcement.id.empty()) {
      notify::Notification n{.thread_id = std::string(kAnnouncementThread),
                             .recipients = {q.announcement.agency},
                             .body = std::move(q.announcement.body)};
      // Security: sealed to the key the agency had before the change (see Announcement).
      if (!q.announcement.seal_to_pem.empty()) {
        n.sealing_key_pems = {std::move(q.announcement.seal_to_pem)};
      }
      e.notification = std::move(n);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status DirectoryAnnouncementOutbox::Ack(const std::vector<std::string>& ack_ids) {
  return store_.AckAnnouncements(ack_ids);
}

notify::OutboxWorkerOptions DirectoryNotifierOptions(std::string consumer) {
  notify::OutboxWorkerOptions o;
  o.consumer = std::move(consumer);
  o.metric_prefix = "concord_directory_announcements";
  o.what = "Announcements of directory changes to the agencies concerned";
  o.log_prefix = "directory";
  o.subject_field = "agency";
  return o;
}

}  // namespace concord::directory
