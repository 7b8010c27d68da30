// File: tests/services/directory/fake_audit_sink.h
//
// In-memory AuditSink for directory tests: records every event; can be told to fail.
#pragma once

#include <mutex>
#include <vector>

#include "common/audit/audit_event.h"

namespace concord::directory {

class FakeAuditSink final : public audit::AuditSink {
 public:
  Status Append(const audit::AuditEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return absl::UnavailableError("audit store down");
    events_.push_back(event);
    return absl::OkStatus();
  }
  std::vector<audit::AuditEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  void set_fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }

 private:
  mutable std::mutex mu_;
  std::vector<audit::AuditEvent> events_;
  bool fail_ = false;
};

}  // namespace concord::directory
