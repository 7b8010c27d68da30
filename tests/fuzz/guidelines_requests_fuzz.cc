// File: tests/fuzz/guidelines_requests_fuzz.cc
//
// The request validation of every concord.guidelines.v1.Guidelines RPC. The input is a
// concord.testing.v1.GuidelinesCall. Publish and Withdraw run the proto-to-domain conversion
// (SignedVersionFromProto, SignedWithdrawalFromProto), the rules of form (ValidateVersion,
// ValidateWithdrawal), the canonical bytes the signature check under the fixed publisher
// key and the line diff of two bodies; Get, Diff and List their id, language and time checks.
// Property: refusals are statuses, never crashes; a version that passes the rules has canonical
// bytes that parse back to it.
#include <cstddef>
#include <cstdint>

#include "common/guideline/guideline.h"
#include "common/guideline/guideline_proto.h"
#include "concord/testing/v1/fuzz.pb.h"
#include "services/guidelines/line_diff.h"
#include "services/guidelines/version_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

namespace gv1 = ::concord::guidelines::v1;

void Publish(const gv1::GuidelineVersion& proto) {
  auto sv = guideline::SignedVersionFromProto(proto);
  if (!sv.ok()) return;
  if (!guideline::ValidateVersion(sv->version, kTrustDomain).ok()) return;
  const std::string bytes = guideline::VersionBytes(sv->version);
  auto parsed = guideline::ParseVersionBytes(bytes);
  FUZZ_INVARIANT(parsed.ok() && guideline::VersionBytes(*parsed) == bytes,
                 "a valid version does not survive its canonical bytes");
  (void)guideline::VerifyVersion(*sv, guideline::VersionSha256(sv->version),
                                 SigningKey().PublicKey());
  // Diff runs on the bodies of two published versions: any two valid bodies.
  if (sv->version.contents.size() >= 2) {
    (void)guidelines::LineDiff(sv->version.contents[0].body, sv->version.contents[1].body);
  }
  gv1::GuidelineVersion back;
  guideline::SignedVersionToProto(*sv, guideline::VersionSha256(sv->version), back);
  auto again = guideline::SignedVersionFromProto(back);
  FUZZ_INVARIANT(again.ok() && guideline::VersionBytes(again->version) == bytes,
                 "SignedVersionToProto/FromProto round trip");
}

void Withdraw(const gv1::Withdrawal& proto) {
  auto sw = guideline::SignedWithdrawalFromProto(proto);
  if (!sw.ok()) return;
  if (!guideline::ValidateWithdrawal(sw->withdrawal, kTrustDomain).ok()) return;
  const std::string bytes = guideline::WithdrawalBytes(sw->withdrawal);
  auto parsed = guideline::ParseWithdrawalBytes(bytes);
  FUZZ_INVARIANT(parsed.ok() && guideline::WithdrawalBytes(*parsed) == bytes,
                 "a valid withdrawal does not survive its canonical bytes");
  (void)guideline::VerifyWithdrawal(*sw, SigningKey().PublicKey());
}

void Run(const testing::v1::GuidelinesCall& call) {
  using C = testing::v1::GuidelinesCall;
  switch (call.method_case()) {
    case C::kPublish:
      Publish(call.publish().version());
      break;
    case C::kWithdraw:
      Withdraw(call.withdraw().withdrawal());
      break;
    case C::kGet: {
      (void)guidelines::ValidateGuidelineId(call.get().guideline_id(), "guideline_id");
      const std::vector<std::string> preferred(call.get().preferred_languages().begin(),
                                               call.get().preferred_languages().end());
      if (guidelines::ValidatePreferredLanguages(preferred, "preferred_languages").ok()) {
        (void)guidelines::ChooseLanguage({"nl", "fr"}, preferred);
      }
      break;
    }
    case C::kDiff:
      (void)guidelines::ValidateGuidelineId(call.diff().guideline_id(), "guideline_id");
      break;
    case C::kList: {
      const gv1::ListRequest& req = call.list();
      if (!req.guideline_id().empty()) {
        (void)guidelines::ValidateGuidelineId(req.guideline_id(), "guideline_id");
      }
      (void)guideline::IsValidTopic(req.topic());
      if (req.effective().has_from()) (void)guideline::TimeFromProto(req.effective().from());
      if (req.effective().has_to()) (void)guideline::TimeFromProto(req.effective().to());
      break;
    }
    case C::kAcknowledge:
      (void)guidelines::ValidateGuidelineId(call.acknowledge().guideline_id(), "guideline_id");
      break;
    case C::kSubscribe:
    case C::kCompliance:
    case C::METHOD_NOT_SET:
      break;
  }
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::GuidelinesCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  concord::fuzz::Run(call);
  return 0;
}
