// File: services/guidelines/compliance.cc
#include "services/guidelines/compliance.h"

#include <algorithm>

namespace concord::guidelines {
namespace {

std::optional<AgencyType> TypeOfKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return std::nullopt;
  return ParseAgencyType(std::string_view(key).substr(0, slash));
}

void Count(TypeFigures& f, const AgencyStatus& s) {
  ++f.audience;
  if (s.acknowledged) {
    ++f.acknowledged;
    if (s.late) ++f.late;
  } else {
    ++f.pending;
    if (s.overdue) ++f.overdue;
  }
}

void Percent(TypeFigures& f) {
  f.acknowledged_percent =
      f.audience == 0 ? 0.0 : 100.0 * static_cast<double>(f.acknowledged) / f.audience;
}

}  // namespace

ComplianceReport ComputeCompliance(const ComplianceInput& in) {
  ComplianceReport report;
  std::vector<std::string> audience = in.audience;
  std::sort(audience.begin(), audience.end());
  audience.erase(std::unique(audience.begin(), audience.end()), audience.end());
  std::map<AgencyType, TypeFigures> by_type;
  const bool deadline_passed = in.as_of > in.ack_deadline;

  for (const std::string& agency : audience) {
    AgencyStatus s{.agency = agency};
    auto ack = in.acks.find(agency);
    const bool counted_ack = ack != in.acks.end() && ack->second.before_freeze;
    if (counted_ack) {
      s.acknowledged = true;
      s.acknowledged_at = ack->second.at;
      s.late = ack->second.at > in.ack_deadline;
    }
    if (in.suspended.count(agency) > 0) {
      report.suspended.push_back(s);  // rule 2: apart, counted nowhere
      continue;
    }
    s.overdue = !s.acknowledged && deadline_passed;
    const std::optional<AgencyType> type = TypeOfKey(agency);
    Count(report.total, s);
    if (type.has_value()) {
      TypeFigures& f = by_type[*type];
      f.type = type;
      Count(f, s);
    }
    (s.acknowledged ? report.acknowledged : report.not_acknowledged).push_back(s);
  }
  // Acknowledgements that count nowhere: outside the frozen audience (rule 1) or recorded after
  // the freeze (rule 4).
  for (const auto& [agency, ack] : in.acks) {
    const bool member = std::binary_search(audience.begin(), audience.end(), agency);
    if (member && ack.before_freeze) continue;
    report.not_counted.push_back(AgencyStatus{.agency = agency,
                                              .acknowledged = true,
                                              .acknowledged_at = ack.at,
                                              .late = ack.at > in.ack_deadline});
  }
  Percent(report.total);
  for (auto& [type, f] : by_type) {
    Percent(f);
    report.by_type.push_back(f);
  }
  return report;
}

}  // namespace concord::guidelines
