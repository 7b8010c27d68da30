// File: tests/common/notify/fake_sender.h
//
// A NotificationSender for unit tests that answers like messaging would: an id it has stored
// (or was told is taken) is ALREADY_EXISTS; a scripted error is answered once per send.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "common/notify/notification_sender.h"

namespace concord::notify::testing {

class FakeMessaging final : public NotificationSender {
 public:
  Status Send(const Notification& n, std::string_view message_id) override {
    attempts.emplace_back(message_id);
    if (!errors.empty()) {
      Status s = errors.front();
      errors.pop_front();
      return s;
    }
    if (!taken.insert(std::string(message_id)).second) {
      return absl::AlreadyExistsError("message id already used by another envelope");
    }
    stored.push_back({std::string(message_id), n});
    return absl::OkStatus();
  }

  struct Stored {
    std::string message_id;
    Notification notification;
  };
  std::set<std::string> taken;  // ids already holding an envelope (someone else's)
  std::deque<Status> errors;    // answered first, one per send
  std::vector<std::string> attempts;
  std::vector<Stored> stored;
};

}  // namespace concord::notify::testing
