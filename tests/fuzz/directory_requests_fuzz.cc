// File: tests/fuzz/directory_requests_fuzz.cc
//
// The request validation of every concord.directory.v1.Directory RPC. The input is a
// concord.testing.v1.DirectoryCall: one request, the oneof naming the RPC. Each case runs the
// handler's proto-to-domain conversion (AgencySpecFromProto, AgencyIdFromProto) and the domain
// rules it applies before the store (NormalizeAgencySpec, NewAgency, UpdateAgency,
// NewRevocation, NormalizeFilter, EffectivePageSize, ParseAgencyKey). Property: refusals are
// statuses, never crashes; an accepted spec is stable (normalising it again changes nothing).
#include <cstddef>
#include <cstdint>

#include "concord/testing/v1/fuzz.pb.h"
#include "services/directory/agency.h"
#include "services/directory/directory_service.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

namespace dv1 = ::concord::directory::v1;

void Spec(const dv1::AgencySpec& proto, bool update) {
  auto spec = directory::AgencySpecFromProto(proto, kTrustDomain);
  if (!spec.ok()) return;
  auto again = directory::NormalizeAgencySpec(*spec, kTrustDomain, "agency");
  FUZZ_INVARIANT(again.ok(), "a normalised agency spec is refused when normalised again");
  auto agency = directory::NewAgency(*spec, Now());
  if (agency.ok() && update) {
    (void)directory::UpdateAgency(*agency, *spec, agency->version, Now());
    (void)directory::DiffAgency(&*agency, *agency);
  }
}

void Run(const testing::v1::DirectoryCall& call) {
  using C = testing::v1::DirectoryCall;
  switch (call.method_case()) {
    case C::kRegisterAgency:
      Spec(call.register_agency().agency(), false);
      break;
    case C::kUpdateAgency:
      Spec(call.update_agency().agency(), true);
      break;
    case C::kSuspendAgency:
      (void)directory::AgencyIdFromProto(call.suspend_agency().id(), kTrustDomain, "id");
      break;
    case C::kReinstateAgency:
      (void)directory::AgencyIdFromProto(call.reinstate_agency().id(), kTrustDomain, "id");
      break;
    case C::kRevokeCertificate:
      (void)directory::NewRevocation(call.revoke_certificate().serial(),
                                     call.revoke_certificate().reason(), Now());
      break;
    case C::kGetAgency:
      (void)directory::AgencyIdFromProto(call.get_agency().id(), kTrustDomain, "id");
      break;
    case C::kListAgencies: {
      const dv1::ListAgenciesRequest& req = call.list_agencies();
      directory::AgencyFilter filter;
      if (auto type = AgencyTypeFromProto(req.type()); type.ok()) filter.type = *type;
      filter.jurisdiction = req.jurisdiction();
      filter.specialisation = req.specialisation();
      filter.language = req.language();
      filter.include_suspended = req.include_suspended();
      (void)directory::NormalizeFilter(std::move(filter));
      (void)directory::EffectivePageSize(req.page().page_size());
      (void)ParseAgencyKey(kTrustDomain, req.page().page_token());
      break;
    }
    case C::kGetRevocations:
    case C::METHOD_NOT_SET:
      break;
  }
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::DirectoryCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  concord::fuzz::Run(call);
  return 0;
}
