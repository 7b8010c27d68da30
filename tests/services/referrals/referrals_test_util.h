// File: tests/services/referrals/referrals_test_util.h
//
// Shared builders for the referrals domain tests: agencies, a complete case, sealed boxes of
// the right shape (contents are opaque bytes: the domain never opens them).
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/validation.h"

namespace concord::referrals::testing {

inline constexpr char kTd[] = "concord.be";

inline AgencyId Agency(AgencyType type, std::string id) {
  return AgencyId{kTd, type, std::move(id)};
}
inline AgencyId Police() { return Agency(AgencyType::kPolice, "pz-brussels"); }
inline AgencyId CentreA() { return Agency(AgencyType::kReceptionCentre, "pag-asa"); }
inline AgencyId CentreB() { return Agency(AgencyType::kReceptionCentre, "payoke"); }
inline AgencyId CentreC() { return Agency(AgencyType::kReceptionCentre, "surya"); }
inline AgencyId Magistrate() { return Agency(AgencyType::kMagistrate, "parquet-bruxelles"); }
inline AgencyId Magistrate2() { return Agency(AgencyType::kMagistrate, "auditorat-bruxelles"); }
inline AgencyId Office() { return Agency(AgencyType::kImmigrationOffice, "oe-minteh"); }
inline AgencyId Guardianship() { return Agency(AgencyType::kGuardianshipService, "tutelles"); }
inline AgencyId Inspection() { return Agency(AgencyType::kSocialInspection, "sis-brussels"); }

inline absl::Time T0() { return absl::FromUnixSeconds(1767225600); }  // 2026-01-01T00:00:00Z

/// A sealed box of the right shape to the given agency keys.
inline v1::SealedRecord Sealed(const std::vector<std::string>& recipients) {
  v1::SealedRecord r;
  r.set_nonce(std::string(12, '\x01'));
  r.set_ciphertext(std::string(64, '\x02'));
  for (const std::string& key : recipients) {
    v1::WrappedKey* k = r.add_keys();
    k->set_recipient(key);
    k->set_ephemeral_public(std::string(32, '\x03'));
    k->set_nonce(std::string(12, '\x04'));
    k->set_ciphertext(std::string(48, '\x05'));
  }
  return r;
}

inline v1::CaseAttributes CompleteAttributes() {
  v1::CaseAttributes a;
  a.add_exploitation_forms(v1::EXPLOITATION_FORM_SEXUAL);
  a.set_origin_country("NG");
  a.set_age_band(v1::AGE_BAND_25_34);
  a.set_gender_category(v1::GENDER_CATEGORY_WOMAN);
  a.set_nationality_class(v1::NATIONALITY_CLASS_THIRD_COUNTRY);
  a.set_region("BE-BRU");
  return a;
}

/// A complete draft by Police() to CentreA() with Magistrate(), sealed record version 1.
inline v1::Case CompleteDraft() {
  v1::Case c;
  c.set_case_id("ref-aaaaaaaaaaaaaaaaaaaaaaaaaa");
  c.set_subject_ref("subj-bbbbbbbbbbbbbbbbbbbbbbbbbb");
  *c.mutable_referring_agency() = AgencyIdToProto(Police());
  *c.mutable_receiving_centre() = AgencyIdToProto(CentreA());
  *c.mutable_magistrate() = AgencyIdToProto(Magistrate());
  c.set_state(v1::CASE_STATE_DETECTED);
  c.set_version(1);
  *c.mutable_attributes() = CompleteAttributes();
  c.set_sealed_record_version(1);
  c.add_sealed_record_recipients(CentreA().Key());
  c.add_sealed_record_recipients(Magistrate().Key());
  *c.mutable_created_at() = ToProtoTime(T0());
  *c.mutable_updated_at() = ToProtoTime(T0());
  return c;
}

inline std::vector<std::string> Fields(const std::vector<v1::FieldProblem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.field());
  return out;
}

}  // namespace concord::referrals::testing
