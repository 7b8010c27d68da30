// File: tests/support/fakes.h
//
// Small fakes shared by service tests (pure in-memory; the real implementations have their own
// tests against real Redis):
//   RecordingAuditSink  keeps every appended AuditEvent (thread-safe), for assertions
//   NoRevocations       a RevocationView in which nothing is suspended or revoked
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/authz/policy.h"

namespace concord::testing {

class RecordingAuditSink final : public audit::AuditSink {
 public:
  Status Append(const audit::AuditEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    return absl::OkStatus();
  }
  std::vector<audit::AuditEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<audit::AuditEvent> events_;
};

class NoRevocations final : public authz::RevocationView {
 public:
  bool IsSuspended(const AgencyId&) const override { return false; }
  bool IsSerialRevoked(std::string_view) const override { return false; }
};

}  // namespace concord::testing
