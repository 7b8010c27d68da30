// File: tests/fuzz/liaison_requests_fuzz.cc
//
// The request validation of every concord.liaison.v1.Liaison RPC. The input is a
// concord.testing.v1.LiaisonCall: one request, the oneof naming the RPC, plus what the handler
// reads from elsewhere: `current` (the stored request Act acts on), `current_jit` (the stored
// team) and `issuer_role` (the issuer's magistrate_role attribute). Each case runs what the
// handler runs before the store: CreateRequest Issue (as an issuer of every agency type, against
// the agency the request names, in Europe/Brussels with the common calendar); Act ApplyMove as
// each party of the stored request, CheckEvidence and AnswerSigningBytes; LinkNotification the
// id, reference and platform checks; CreateJit CheckNewJit as a lead of every agency type;
// AddJitMember / LeaveJit the member conversions and IsJitMember; ShareInJit CheckShare.
// Properties: refusals are statuses, never crashes; an issued request is ISSUED at version 1
// with the initial clocks of its type (and a follow-up clock when asked); a move that applies moves
// the request version on by exactly one and leaves a state of its type.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/time/calendar.h"
#include "concord/testing/v1/fuzz.pb.h"
#include "services/liaison/clocks.h"
#include "services/liaison/ids.h"
#include "services/liaison/jit.h"
#include "services/liaison/requests.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

namespace lv1 = ::concord::liaison::v1;

const absl::TimeZone& Brussels() {
  static const auto* zone = new absl::TimeZone(*LoadTimeZone(kBrusselsTimeZone));
  return *zone;
}

AgencyId Agency(AgencyType type, std::string id) {
  return AgencyId{std::string(kTrustDomain), type, std::move(id)};
}

bool IsStateOf(lv1::RequestType type, lv1::RequestState state) {
  const auto states = liaison::StatesOf(type);
  return std::find(states.begin(), states.end(), state) != states.end();
}

void Create(const testing::v1::LiaisonCall& call) {
  const lv1::CreateRequestRequest& req = call.create_request();
  if (liaison::IsUnset(req.executor())) return;
  auto executor = liaison::AgencyIdFromProto(req.executor());
  if (!executor.ok()) return;
  if (executor->trust_domain.empty()) executor->trust_domain = std::string(kTrustDomain);
  const liaison::ClockConfig config;
  std::optional<std::string> role;
  if (!call.issuer_role().empty()) role = call.issuer_role();
  for (AgencyType type : kAllAgencyTypes) {
    const AgencyId issuer = Agency(type, "issuer-1");
    if (issuer.Key() == executor->Key()) continue;
    const liaison::IssueContext ctx{.issuer = issuer,
                                    .issuer_role = role,
                                    .executor = *executor,
                                    .executor_zone = Brussels(),
                                    .executor_zone_name = std::string(kBrusselsTimeZone),
                                    .now = Now(),
                                    .request_id = "lr-aaaaaaaaaaaaaaaaaaaaaaaaaa",
                                    .issuer_party = std::nullopt,
                                    .executor_party = std::nullopt};
    auto out = liaison::Issue(req, ctx, config);
    if (!out.ok()) continue;
    FUZZ_INVARIANT(out->next.state() == lv1::REQUEST_STATE_ISSUED, "issued request not ISSUED");
    FUZZ_INVARIANT(out->next.version() == 1, "issued request not at version 1");
    FUZZ_INVARIANT(static_cast<size_t>(out->next.clocks_size()) ==
                       liaison::InitialClocks(req.type()).size() + (req.has_follow_up_at() ? 1 : 0),
                   "an issued request does not run the clocks of its type");
    FUZZ_INVARIANT(liaison::SideOf(out->next, issuer) == liaison::Side::kIssuer,
                   "the issuer is not the issuing side of its request");
  }
}

void Act(const testing::v1::LiaisonCall& call) {
  const lv1::Request& current = call.current();
  const lv1::ActRequest& req = call.act();
  const liaison::ClockConfig config;
  for (const auto* party : {&current.issuer(), &current.executor()}) {
    auto caller = liaison::AgencyIdFromProto(*party);
    if (!caller.ok()) continue;
    auto out = liaison::ApplyMove(current, req, *caller, Now(), Brussels(), config);
    if (!out.ok()) continue;
    FUZZ_INVARIANT(out->next.version() == current.version() + 1,
                   "a move did not move the request version on by one");
    FUZZ_INVARIANT(IsStateOf(current.type(), out->next.state()),
                   "a move left a state its request type does not have");
    (void)liaison::AllowedMoves(out->next.type(), out->next.state());
  }
  FieldErrors errors;
  liaison::CheckEvidence(req.evidence(), req.move() == lv1::MOVE_ANSWER, "evidence", errors);
  (void)liaison::AnswerSigningBytes(req.request_id(), req.expected_version() + 1, req.evidence());
  (void)liaison::IsRequestId(req.request_id());
}

void Run(const testing::v1::LiaisonCall& call) {
  using C = testing::v1::LiaisonCall;
  const lv1::Jit& jit = call.current_jit();
  switch (call.method_case()) {
    case C::kCreateRequest:
      Create(call);
      break;
    case C::kAct:
      Act(call);
      break;
    case C::kGetRequest:
      (void)liaison::IsRequestId(call.get_request().request_id());
      break;
    case C::kListRequests:
      (void)lv1::RequestType_IsValid(call.list_requests().type());
      (void)lv1::RequestState_IsValid(call.list_requests().state());
      break;
    case C::kLinkNotification: {
      const lv1::LinkNotificationRequest& req = call.link_notification();
      (void)liaison::IsMessageId(req.message_id());
      (void)liaison::IsReference(req.case_reference());
      if (auto platform = liaison::AgencyIdFromProto(req.platform()); platform.ok()) {
        (void)liaison::AgencyIdToProto(*platform);
      }
      break;
    }
    case C::kListLinkedNotifications:
      (void)liaison::IsReference(call.list_linked_notifications().case_reference());
      break;
    case C::kCreateJit:
      for (AgencyType type : kAllAgencyTypes) {
        const AgencyId lead = Agency(type, "lead-1");
        auto members = liaison::CheckNewJit(call.create_jit(), lead, std::string(kTrustDomain));
        if (!members.ok()) continue;
        FUZZ_INVARIANT(liaison::MayLeadJit(type), "a team accepted a lead that may not lead");
        FUZZ_INVARIANT(members->size() + 1 <= static_cast<size_t>(liaison::kMaxJitMembers),
                       "a new team has more members than allowed");
        for (const AgencyId& m : *members) {
          FUZZ_INVARIANT(liaison::MayJoinJit(m.type), "a new team has a member that may not join");
          FUZZ_INVARIANT(m.Key() != lead.Key(), "a new team lists its lead as a member");
        }
      }
      break;
    case C::kAddJitMember:
    case C::kLeaveJit: {
      const auto& member = call.method_case() == C::kAddJitMember ? call.add_jit_member().member()
                                                                  : call.leave_jit().member();
      (void)liaison::IsJitId(call.method_case() == C::kAddJitMember ? call.add_jit_member().jit_id()
                                                                    : call.leave_jit().jit_id());
      if (liaison::IsUnset(member)) break;
      if (auto m = liaison::AgencyIdFromProto(member); m.ok()) {
        (void)liaison::MayJoinJit(m->type);
        (void)liaison::IsJitMember(jit, *m);
        (void)liaison::SameAgency(jit.lead(), *m);
      }
      break;
    }
    case C::kGetJit:
      (void)liaison::IsJitId(call.get_jit().jit_id());
      break;
    case C::kShareInJit:
      (void)liaison::IsJitId(call.share_in_jit().jit_id());
      (void)liaison::CheckShare(call.share_in_jit());
      for (const auto& r : call.share_in_jit().recipients()) (void)liaison::AgencyKeyOf(r);
      break;
    case C::kListJitEntries:
      (void)liaison::IsJitId(call.list_jit_entries().jit_id());
      break;
    case C::kWatchJit:
      (void)liaison::IsJitId(call.watch_jit().jit_id());
      break;
    case C::METHOD_NOT_SET:
      break;
  }
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::LiaisonCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  concord::fuzz::Run(call);
  return 0;
}
