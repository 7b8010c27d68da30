// File: common/audit/audit_event.h
//
// What every Concord service tells the audit log: one AuditEvent per state-changing RPC and per
// read of sealed data (LED 2016/680 art. 25; DOMAIN.md section 6). An AuditSink appends it; the
// production sink is IntakeAuditSink (intake_audit_sink.h), which seals the event and appends it
// to the workload's intake; the audit service chains it.
//
//   audit::AuditEvent e{.agency = caller.agency, .officer = audit::OfficerFromContext(*ctx),
//                       .operation = audit::Operation::kConsultation, .object = "message:" + id,
//                       .method = "/concord.messaging.v1.Messaging/Fetch",
//                       .justification = audit::JustificationFromContext(*ctx),
//                       .outcome = "OK", .time = clock.Now()};
//   CONCORD_RETURN_IF_ERROR(sink.Append(e));
//
// Records hold no personal data: `object` is a pseudonymous reference ("<kind>:<id>"), never a
// name; `justification` is free text from the caller and is sealed at rest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::audit {

/// The six operations LED art. 25 requires to be logged.
enum class Operation {
  kCollection,
  kAlteration,
  kConsultation,
  kDisclosure,
  kCombination,
  kErasure
};

/// "collection", "alteration", "consultation", "disclosure", "combination", "erasure".
std::string_view OperationName(Operation op);

/// Inverse of OperationName (exact match); nullopt otherwise.
std::optional<Operation> ParseOperation(std::string_view name);

struct AuditEvent {
  AgencyId agency;      // acting agency, from its peer certificate
  std::string officer;  // acting officer, asserted by the agency system ("" = unknown)
  Operation operation = Operation::kConsultation;
  std::string object;                   // pseudonymous reference, e.g. "agency:police/x"
  std::string method;                   // full gRPC method name
  std::string justification;            // stated reason; required to consult/disclose personal data
  std::vector<std::string> recipients;  // for disclosures: recipient agency keys "<type>/<id>"
  std::string outcome;                  // gRPC code name, e.g. "OK"
  absl::Time time;  // when it happened; absl::UnixEpoch() = "now" (sink's clock)
  /// What changed, for alterations whose object alone does not say it (e.g. the directory:
  /// "signing_public_key=<fingerprint>; attributes.audit_reviewer=true"). Never personal data.
  /// "" = none (the record is then encoded exactly as before the field existed).
  std::string details{};

  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

/// Where services send audit events. Implementations are thread-safe.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  /// Appends one record durably (as durable as the backing store). UNAVAILABLE when the store
  /// is unreachable: the caller decides whether the audited operation may proceed.
  virtual Status Append(const AuditEvent& event) = 0;
  /// Appends several records, in order (e.g. one per message id of an Ack). The first error, if
  /// any. Default: Append each in turn, stopping at the first error; IntakeAuditSink appends them
  /// in one Redis round trip.
  virtual Status AppendAll(const std::vector<AuditEvent>& events) {
    for (const AuditEvent& e : events) {
      if (Status s = Append(e); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  /// Append without holding the calling thread: `done` gets Append's status, once, possibly on
  /// another thread (an I/O thread: `done` must not block). Default: Append on the calling
  /// thread; IntakeAuditSink with an asynchronous Redis client groups concurrent appends into one
  /// round trip without a waiting thread.
  virtual void AppendAsync(AuditEvent event, std::function<void(Status)> done) {
    done(Append(event));
  }
  /// AppendAll without holding the calling thread: `done` gets AppendAll's status, once,
  /// possibly on another thread (an I/O thread: `done` must not block). Default: AppendAll on the
  /// calling thread; IntakeAuditSink with an asynchronous Redis client queues the records
  /// together on its asynchronous path (one round trip for the batch, up to its batch limit).
  virtual void AppendAllAsync(std::vector<AuditEvent> events, std::function<void(Status)> done) {
    done(AppendAll(events));
  }
  /// `event` sealed as an entry of this sink's workload (its time stamped when unset), for a
  /// script of the workload that appends it to the workload's slot intake together with the
  /// operation it records (common/audit/audit_record.h "Slot intakes"): the record is then
  /// stored if and only if the operation is. UNIMPLEMENTED for a sink that has no intake entries
  /// (the caller appends the record as usual).
  virtual StatusOr<std::string> SealEntry(const AuditEvent& /*event*/) {
    return absl::UnimplementedError("this audit sink does not seal intake entries");
  }
};

}  // namespace concord::audit
