// File: tests/services/liaison/liaison_test_util.h
//
// Shared builders for the liaison domain tests: agencies, the Brussels zone and the end of a
// Brussels day (the clocks count with common/time/calendar.h), and minimal valid moves.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/time/calendar.h"
#include "concord/liaison/v1/liaison.pb.h"
#include "services/liaison/clocks.h"
#include "services/liaison/ids.h"
#include "services/liaison/requests.h"

namespace concord::liaison::testing {

inline constexpr char kTd[] = "concord.be";

inline AgencyId Agency(AgencyType type, std::string id) {
  return AgencyId{kTd, type, std::move(id)};
}
inline AgencyId Judge() { return Agency(AgencyType::kMagistrate, "ij-bruxelles"); }
inline AgencyId Police() { return Agency(AgencyType::kPolice, "dju-spoc"); }
inline AgencyId Partner() { return Agency(AgencyType::kForeignPartner, "nl-om"); }
inline AgencyId Platform() { return Agency(AgencyType::kPlatform, "socialnet"); }
inline absl::Time T0() { return absl::FromUnixSeconds(1790841600); }  // 2026-10-01T08:00:00Z

inline absl::TimeZone Brussels() {
  StatusOr<absl::TimeZone> z = LoadTimeZone(kBrusselsTimeZone);
  if (!z.ok()) std::abort();
  return *z;
}

/// The end of the civil day y-m-d in Brussels (the first instant of the next day).
inline absl::Time EndOfBrusselsDay(int y, int m, int d) {
  return EndOfDay(absl::CivilDay(y, m, d), Brussels());
}

/// An instant written as RFC 3339 ("2026-03-29T00:30:00Z"); aborts on a typo.
inline absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) std::abort();
  return t;
}

/// The first allowed pair of `type`: its issuer and executor as test agencies.
inline std::pair<AgencyId, AgencyId> PartiesFor(v1::RequestType type) {
  auto pick = [](AgencyType t, bool first) {
    switch (t) {
      case AgencyType::kMagistrate:
        return Judge();
      case AgencyType::kPolice:
        return Police();
      case AgencyType::kPlatform:
        return Platform();
      default:
        return first ? Partner() : Partner();
    }
  };
  const auto pair = AllowedParties(type).front();
  return {pick(pair.first, true), pick(pair.second, false)};
}

/// A CreateRequestRequest of `type` that passes every shape check.
inline v1::CreateRequestRequest ValidCreate(v1::RequestType type, const AgencyId& executor) {
  v1::CreateRequestRequest r;
  r.set_type(type);
  *r.mutable_executor() = AgencyIdToProto(executor);
  r.set_order_message_id("msg-order-0000000001");
  r.set_case_reference("BXL.12.34/2026");
  if (type == v1::REQUEST_TYPE_SPOC_INFORMATION) r.set_urgency(v1::URGENCY_STANDARD);
  if (type == v1::REQUEST_TYPE_PRODUCTION_ORDER || type == v1::REQUEST_TYPE_PRESERVATION_ORDER) {
    r.set_data_category(v1::DATA_CATEGORY_SUBSCRIBER);
  }
  return r;
}

inline IssueContext Context(const AgencyId& issuer, const AgencyId& executor,
                            std::optional<std::string> role = "investigating_judge") {
  return IssueContext{.issuer = issuer,
                      .issuer_role = std::move(role),
                      .executor = executor,
                      .executor_zone = Brussels(),
                      .executor_zone_name = "Europe/Brussels",
                      .now = T0(),
                      .request_id = NewRequestId(),
                      .issuer_party = std::nullopt,
                      .executor_party = std::nullopt};
}

/// An ActRequest for `move` on `r` whose fields fit the move.
inline v1::ActRequest ValidMove(const v1::Request& r, v1::Move move) {
  v1::ActRequest a;
  a.set_request_id(r.request_id());
  a.set_expected_version(r.version());
  a.set_move(move);
  switch (move) {
    case v1::MOVE_REFUSE:
      a.mutable_reason()->set_code(v1::REASON_CODE_DOUBLE_CRIMINALITY);
      break;
    case v1::MOVE_NOTIFY_DELAY:
    case v1::MOVE_EXTEND_DECISION:
      a.mutable_reason()->set_code(v1::REASON_CODE_COMPLEXITY);
      break;
    case v1::MOVE_CANNOT_COMPLY:
      a.mutable_reason()->set_code(v1::REASON_CODE_DATA_NOT_HELD);
      break;
    case v1::MOVE_REQUEST_CLARIFICATION:
      a.mutable_reason()->set_code(v1::REASON_CODE_INCOMPLETE_ORDER);
      break;
    case v1::MOVE_CLARIFY:
      a.set_message_id("msg-clarify-00000001");
      break;
    case v1::MOVE_SET_FOLLOW_UP:
      *a.mutable_follow_up_at() = ToProtoTime(T0() + absl::Hours(24 * 14));
      break;
    case v1::MOVE_ANSWER: {
      v1::EvidenceRef* e = a.add_evidence();
      e->set_message_id("msg-evidence-000001");
      e->set_sha256(std::string(64, 'a'));
      e->set_size_bytes(1024);
      a.set_answer_signature(std::string(64, '\x01'));
      break;
    }
    default:
      break;
  }
  if (move == v1::MOVE_EXTEND_DECISION || move == v1::MOVE_EXTEND_PRESERVATION) {
    a.set_extension_days(30);
  }
  return a;
}

}  // namespace concord::liaison::testing
