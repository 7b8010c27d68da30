// Unit tests of the liaison move tables (services/liaison/requests.h): the exhaustive walk of
// every type x state x move x caller, who may order what, and the documentation in step.
#include "services/liaison/requests.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/status/status.h"
#include "tests/services/liaison/liaison_test_util.h"

namespace concord::liaison {
namespace {

using namespace testing;  // NOLINT

constexpr AgencyType kAllTypes[] = {AgencyType::kPolice,
                                    AgencyType::kMagistrate,
                                    AgencyType::kReceptionCentre,
                                    AgencyType::kImmigrationOffice,
                                    AgencyType::kSocialInspection,
                                    AgencyType::kCoordinationUnit,
                                    AgencyType::kForeignPartner,
                                    AgencyType::kPlatform,
                                    AgencyType::kAdmin};

v1::Request IssuedRequest(v1::RequestType type) {
  const auto [issuer, executor] = PartiesFor(type);
  RecordingCalendar calendar;
  auto out = Issue(ValidCreate(type, executor), Context(issuer, executor), calendar, ClockConfig{});
  EXPECT_TRUE(out.ok()) << TypeName(type) << ": " << out.status();
  return out.ok() ? out->next : v1::Request{};
}

// Test that every (type, state, move, caller) gives the answer the check order of ApplyMove
// promises: INVALID_ARGUMENT for a move of another type, NOT_A_PARTY for an outsider of any
// agency type, MOVE_NOT_ALLOWED where the table has no row, WRONG_PARTY for the other side, and
// the row's target state otherwise.
TEST(LiaisonMoveTable, WalkEveryTypeStateMoveAndCaller) {
  RecordingCalendar calendar;
  int allowed = 0, checked = 0;
  for (v1::RequestType type : kAllRequestTypes) {
    const auto [issuer, executor] = PartiesFor(type);
    for (v1::RequestState state : StatesOf(type)) {
      v1::Request r = IssuedRequest(type);
      r.set_state(state);
      for (v1::Move move : kAllMoves) {
        std::vector<std::pair<std::string, AgencyId>> callers = {{"issuer", issuer},
                                                                 {"executor", executor}};
        for (AgencyType t : kAllTypes) {
          callers.push_back({"outsider", Agency(t, "outsider-" + std::string(AgencyTypeName(t)))});
        }
        for (const auto& [who, caller] : callers) {
          SCOPED_TRACE(::testing::Message()
                       << TypeName(type) << " " << StateName(state) << " " << MoveName(move)
                       << " by " << who << " " << caller.Key());
          ++checked;
          auto out = ApplyMove(r, ValidMove(r, move), caller, T0() + absl::Hours(1), Brussels(),
                               calendar, ClockConfig{});
          bool of_type = false;
          for (const MoveRule& row : MoveTable()) of_type |= row.type == type && row.move == move;
          const MoveRule* rule = FindRule(type, state, move);
          if (!of_type) {
            EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
          } else if (who == "outsider") {
            EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
            EXPECT_EQ(ReasonOf(out.status()), "NOT_A_PARTY");
          } else if (rule == nullptr) {
            EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
            EXPECT_EQ(ReasonOf(out.status()), "MOVE_NOT_ALLOWED");
          } else if (SideName(rule->by) != who) {
            EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
            EXPECT_EQ(ReasonOf(out.status()), "WRONG_PARTY");
          } else {
            ASSERT_TRUE(out.ok()) << out.status();
            ++allowed;
            EXPECT_EQ(out->next.state(),
                      rule->to == v1::REQUEST_STATE_UNSPECIFIED ? state : rule->to);
            EXPECT_EQ(out->next.version(), r.version() + 1);
            EXPECT_EQ(out->entry.action(), MoveAction(move));
            if (IsTerminal(out->next.state())) {
              EXPECT_EQ(out->next.clocks_size(), 0);
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(allowed, static_cast<int>([] {
              size_t n = 0;
              for (const MoveRule& r : MoveTable()) n += r.from.size();
              return n;
            }()));
  EXPECT_EQ(checked, 4620);  // 6 types x their states x 15 moves x 11 callers
}

// Test that every state of every type is reachable from ISSUED through the table, and that every
// non-terminal state has a way out.
TEST(LiaisonMoveTable, EveryStateReachableAndEveryOpenStateHasAMove) {
  for (v1::RequestType type : kAllRequestTypes) {
    std::set<int> reached = {v1::REQUEST_STATE_ISSUED};
    for (int round = 0; round < 10; ++round) {
      for (const MoveRule& r : MoveTable()) {
        if (r.type != type || r.to == v1::REQUEST_STATE_UNSPECIFIED) continue;
        for (v1::RequestState s : r.from) {
          if (reached.count(s)) reached.insert(r.to);
        }
      }
    }
    for (v1::RequestState s : StatesOf(type)) {
      EXPECT_TRUE(reached.count(s)) << TypeName(type) << " " << StateName(s);
      EXPECT_EQ(IsTerminal(s), AllowedMoves(type, s).empty()) << StateName(s);
    }
  }
}

// Test who may order what, for each combination of magistrate role, data category and offence
// threshold (Regulation 2023/1543 art. 4): content and traffic data need an investigating judge
// and >= 3 years; subscriber and identification data any recorded magistrate role; an unset role
// orders nothing.
TEST(LiaisonOrderingAuthority, EveryRoleCategoryAndThreshold) {
  const std::vector<std::optional<std::string>> roles = {std::nullopt, "prosecutor",
                                                         "investigating_judge", "labour_auditor"};
  const v1::DataCategory categories[] = {v1::DATA_CATEGORY_SUBSCRIBER,
                                         v1::DATA_CATEGORY_IDENTIFICATION,
                                         v1::DATA_CATEGORY_TRAFFIC, v1::DATA_CATEGORY_CONTENT};
  RecordingCalendar calendar;
  for (v1::RequestType type :
       {v1::REQUEST_TYPE_PRODUCTION_ORDER, v1::REQUEST_TYPE_PRESERVATION_ORDER}) {
    for (const auto& role : roles) {
      for (v1::DataCategory category : categories) {
        for (int years : {0, 2, 3, 10}) {
          SCOPED_TRACE(::testing::Message()
                       << TypeName(type) << " role=" << role.value_or("unset") << " "
                       << v1::DataCategory_Name(category) << " years=" << years);
          v1::CreateRequestRequest req = ValidCreate(type, Platform());
          req.set_data_category(category);
          req.set_offence_max_years(years);
          auto out = Issue(req, Context(Judge(), Platform(), role), calendar, ClockConfig{});
          const bool heavy =
              type == v1::REQUEST_TYPE_PRODUCTION_ORDER &&
              (category == v1::DATA_CATEGORY_CONTENT || category == v1::DATA_CATEGORY_TRAFFIC);
          if (!role) {
            EXPECT_EQ(ReasonOf(out.status()), "MAGISTRATE_ROLE_REQUIRED");
          } else if (heavy && *role != "investigating_judge") {
            EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
            EXPECT_EQ(ReasonOf(out.status()), "JUDGE_REQUIRED");
          } else if (heavy && years < 3) {
            EXPECT_EQ(ReasonOf(out.status()), "OFFENCE_BELOW_THRESHOLD");
          } else {
            EXPECT_TRUE(out.ok()) << out.status();
          }
        }
      }
    }
  }
}

// Test that a prosecutor's production order for content data is refused (the acceptance case).
TEST(LiaisonOrderingAuthority, ProsecutorContentOrderRefused) {
  RecordingCalendar calendar;
  v1::CreateRequestRequest req = ValidCreate(v1::REQUEST_TYPE_PRODUCTION_ORDER, Platform());
  req.set_data_category(v1::DATA_CATEGORY_CONTENT);
  req.set_offence_max_years(10);
  auto out = Issue(req, Context(Judge(), Platform(), "prosecutor"), calendar, ClockConfig{});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(out.status()), "JUDGE_REQUIRED");
}

// Test that each type accepts only its pairs of agency types: a caller of a type that never
// issues it is PERMISSION_DENIED, a wrong executor type INVALID_ARGUMENT on executor.type.
TEST(LiaisonIssue, PairsOfAgencyTypes) {
  RecordingCalendar calendar;
  for (v1::RequestType type : kAllRequestTypes) {
    const auto pairs = AllowedParties(type);
    for (AgencyType from : kAllTypes) {
      for (AgencyType to : kAllTypes) {
        const AgencyId issuer = Agency(from, "issuer");
        const AgencyId executor = Agency(to, "executor");
        auto out =
            Issue(ValidCreate(type, executor), Context(issuer, executor), calendar, ClockConfig{});
        const bool issuer_ok =
            std::any_of(pairs.begin(), pairs.end(), [&](auto& p) { return p.first == from; });
        const bool pair_ok = std::any_of(
            pairs.begin(), pairs.end(), [&](auto& p) { return p.first == from && p.second == to; });
        SCOPED_TRACE(::testing::Message() << TypeName(type) << " " << AgencyTypeName(from) << " -> "
                                          << AgencyTypeName(to));
        if (!issuer_ok) {
          EXPECT_EQ(ReasonOf(out.status()), "ISSUER_NOT_ALLOWED");
        } else if (!pair_ok) {
          EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
          EXPECT_NE(out.status().message().find("invalid executor"), std::string::npos);
        } else {
          EXPECT_TRUE(out.ok()) << out.status();
        }
      }
    }
  }
}

// Test the field rules of Issue and of the moves (limits and fit to the type).
TEST(LiaisonIssue, FieldRules) {
  RecordingCalendar calendar;
  v1::CreateRequestRequest spoc = ValidCreate(v1::REQUEST_TYPE_SPOC_INFORMATION, Partner());
  spoc.clear_urgency();
  auto out = Issue(spoc, Context(Police(), Partner()), calendar, ClockConfig{});
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolationsOf(out.status()).front().field, "urgency");

  v1::CreateRequestRequest eio = ValidCreate(v1::REQUEST_TYPE_EIO, Partner());
  eio.set_emergency(true);
  eio.set_data_category(v1::DATA_CATEGORY_CONTENT);
  eio.set_case_reference("has spaces");
  eio.set_order_message_id("short");
  out = Issue(eio, Context(Judge(), Partner()), calendar, ClockConfig{});
  std::set<std::string> fields;
  for (const auto& v : FieldViolationsOf(out.status())) fields.insert(v.field);
  EXPECT_EQ(fields, (std::set<std::string>{"emergency", "data_category", "case_reference",
                                           "order_message_id"}));

  v1::Request r = IssuedRequest(v1::REQUEST_TYPE_EIO);
  v1::ActRequest refuse = ValidMove(r, v1::MOVE_REFUSE);
  refuse.mutable_reason()->set_code(v1::REASON_CODE_DATA_NOT_HELD);  // a provider's reason
  auto moved = ApplyMove(r, refuse, Partner(), T0(), Brussels(), calendar, ClockConfig{});
  ASSERT_EQ(moved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolationsOf(moved.status()).front().field, "reason.code");
}

// Test that docs/liaison.md holds the generated tables verbatim.
TEST(LiaisonMoveTable, DocumentationInStep) {
  std::ifstream in(std::string(CONCORD_SOURCE_DIR) + "/docs/liaison.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- BEGIN request-tables -->\n";
  const std::string end = "<!-- END request-tables -->";
  const size_t b = doc.find(begin);
  const size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string expected = RequestTablesMarkdown();
  if (doc.substr(b + begin.size(), e - b - begin.size()) != expected) {
    std::ofstream("liaison-request-tables.md") << expected;  // to paste between the markers
    ADD_FAILURE() << "docs/liaison.md is not RequestTablesMarkdown(): the generated text is in "
                     "liaison-request-tables.md (the test's working directory)";
  }
}

}  // namespace
}  // namespace concord::liaison
