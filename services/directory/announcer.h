// File: services/directory/announcer.h
//
// The directory's side of Concord's notifier (common/notify): the announcements queued in the
// directory's outbox stream (announcement.h, written in the same Lua script as each change) are
// read by a notify::OutboxWorker through DirectoryAnnouncementOutbox and sent as signed, sealed
// NOTIFICATION messages by Concord's own identity admin/concord-directory, each to the one
// agency whose record changed, in the thread "directory", under message ids keyed with the
// deployment's notifier secret (prefix "dn-"), sealed to the sealing key the agency had BEFORE
// the change (Announcement::seal_to_pem): after a key swap the real agency reads it, not whoever
// set the new key. An announcement that messaging refuses for good
// (e.g. the agency is suspended) is dropped, counted and logged; a transient failure is retried.
//
// The notifier identity must be registered and active in the directory before anything is sent
// (messaging refuses, for good, a sender it does not know): until it is, Read() leaves every
// entry queued and reports FAILED_PRECONDITION (logged once, gauge
// concord_directory_announcer_waiting = 1), so announcements of changes made before the
// notifier was registered are sent afterwards, not dropped.
//
// Metrics (common/notify): concord_directory_announcements_total{outcome}, and
// concord_directory_announcements_id_taken_total; the module adds the gauges
// concord_directory_announcements_pending (entries in the outbox) and
// concord_directory_announcer_waiting.
//
// Thread safety: as DirectoryStore (thread-safe).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/notify/outbox_worker.h"
#include "prometheus/gauge.h"
#include "services/directory/directory_store.h"

namespace concord::directory {

inline constexpr std::string_view kAnnouncementIdPrefix = "dn-";
inline constexpr std::string_view kAnnouncementThread = "directory";

class DirectoryAnnouncementOutbox final : public notify::Outbox {
 public:
  /// `store` (and `waiting`, when not null) must outlive the outbox. `notifier`: the identity
  /// the announcements are sent as (nullopt: no check).
  DirectoryAnnouncementOutbox(DirectoryStore& store, std::optional<AgencyId> notifier,
                              prometheus::Gauge* waiting = nullptr)
      : store_(store), notifier_(std::move(notifier)), waiting_(waiting) {}

  /// FAILED_PRECONDITION (nothing read) while the notifier identity is not registered and
  /// active; otherwise the composed entries.
  StatusOr<std::vector<notify::OutboxEntry>> Read(std::string_view consumer, int max,
                                                  absl::Duration claim_after) override;
  Status Ack(const std::vector<std::string>& ack_ids) override;

 private:
  Status CheckNotifierRegistered();

  DirectoryStore& store_;
  const std::optional<AgencyId> notifier_;
  prometheus::Gauge* waiting_;
  std::atomic<bool> was_waiting_{false};
};

/// The worker options of the directory's notifier (metric and log prefixes).
notify::OutboxWorkerOptions DirectoryNotifierOptions(std::string consumer);

}  // namespace concord::directory
