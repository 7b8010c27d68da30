// File: services/guidelines/compliance.h
//
// The compliance figures of one version, computed from what the store recorded (pure; the rules
// are written in docs/guidelines.md "Compliance rules" and tested one by one in
// tests/services/guidelines/compliance_test.cc):
//   1. the audience is the set frozen at publication (agencies registered later do not count);
//   2. audience agencies suspended at `as_of` are listed apart and counted nowhere;
//   3. an acknowledgement is of one version (acknowledging a newer one does not acknowledge it);
//   4. acknowledgements recorded after the version's figures froze (supersession, withdrawal)
//      do not count; `as_of` is then the moment of the freeze and `suspended` as it was then;
//   5. the first acknowledgement of an agency stands (duplicates change nothing);
//   6. late: acknowledged after the deadline (still acknowledged);
//   7. overdue: counted, not acknowledged, and as_of is after the deadline;
//   8. figures per agency type and in total: audience, acknowledged, pending, overdue, late and
//      100 * acknowledged / audience (0 for an empty audience).
//
// Thread safety: pure function.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"

namespace concord::guidelines {

/// One recorded acknowledgement of an agency (its first one).
struct AckRecord {
  absl::Time at = absl::UnixEpoch();
  /// False when it was recorded after the version's figures froze (rule 4).
  bool before_freeze = true;
};

struct ComplianceInput {
  absl::Time ack_deadline = absl::UnixEpoch();
  absl::Time as_of = absl::UnixEpoch();
  std::vector<std::string> audience;      // agency keys "<type>/<id>" frozen at publication
  std::map<std::string, AckRecord> acks;  // agency key -> its first acknowledgement
  std::set<std::string> suspended;        // agency keys suspended at as_of
};

struct AgencyStatus {
  std::string agency;  // "<type>/<id>"
  bool acknowledged = false;
  absl::Time acknowledged_at = absl::UnixEpoch();
  bool late = false;
  bool overdue = false;
};

struct TypeFigures {
  std::optional<AgencyType> type;  // nullopt: the total
  int audience = 0;
  int acknowledged = 0;
  int pending = 0;
  int overdue = 0;
  int late = 0;
  double acknowledged_percent = 0;
};

struct ComplianceReport {
  TypeFigures total;
  std::vector<TypeFigures> by_type;  // in AgencyType order, types of the counted audience only
  // Sorted by agency key.
  std::vector<AgencyStatus> acknowledged;      // counted, acknowledged
  std::vector<AgencyStatus> not_acknowledged;  // counted, not acknowledged (overdue flagged)
  std::vector<AgencyStatus> suspended;         // audience agencies suspended at as_of
  std::vector<AgencyStatus> not_counted;       // acknowledged outside the audience or too late
};

ComplianceReport ComputeCompliance(const ComplianceInput& input);

}  // namespace concord::guidelines
