// Pure domain tests of services/directory/agency.h (no I/O).
#include "services/directory/agency.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/crypto/ed25519.h"
#include "common/crypto/key_endorsement.h"
#include "common/crypto/x25519.h"
#include "services/directory/announcement.h"

namespace concord::directory {
namespace {

constexpr std::string_view kTd = "concord.test";

AgencySpec ValidSpec() {
  AgencySpec s;
  s.id = AgencyId{"", AgencyType::kPolice, "pz-brussels"};
  s.display_name = "  Police zone Brussels Capital / Ixelles — vice squad ";
  s.jurisdiction = "be-bru";
  s.specialisations = {"vice", "thb", "thb"};
  s.languages = {"NL", "fr"};
  s.signing_public_key_pem = crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem();
  s.sealing_public_key_pem = crypto::X25519PrivateKey::Generate().PublicKey().ToPem();
  s.certificate_serials = {"00:0a:ff", "BEEF"};
  return s;
}

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST(Agency, NormalizesAValidSpec) {
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->id.trust_domain, kTd);
  EXPECT_EQ(spec->display_name, "Police zone Brussels Capital / Ixelles — vice squad");
  EXPECT_EQ(spec->jurisdiction, "BE-BRU");
  EXPECT_EQ(spec->specialisations, (std::vector<std::string>{"thb", "vice"}));
  EXPECT_EQ(spec->languages, (std::vector<std::string>{"fr", "nl"}));
  EXPECT_EQ(spec->certificate_serials, (std::vector<std::string>{"AFF", "BEEF"}));
}

TEST(Agency, ReportsEveryInvalidFieldAtOnce) {
  AgencySpec s = ValidSpec();
  s.id.trust_domain = "other.example";
  s.id.id = "Bad_Id";
  s.display_name = "";
  s.jurisdiction = "BE-XYZ";
  s.specialisations = {"ok", "Not ok!"};
  s.languages = {"nl", "xx", "fra"};
  s.signing_public_key_pem = s.sealing_public_key_pem;  // X25519, not Ed25519
  s.sealing_public_key_pem = "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n";
  s.certificate_serials = {"xyz"};
  auto r = NormalizeAgencySpec(s, kTd);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(r.status()),
            (std::vector<std::string>{
                "agency.id.trust_domain", "agency.id.id", "agency.display_name",
                "agency.jurisdiction", "agency.specialisations[1]", "agency.languages[1]",
                "agency.languages[2]", "agency.certificate_serials[0]",
                "agency.signing_public_key_pem", "agency.sealing_public_key_pem"}));
}

TEST(Agency, DisplayNameLimits) {
  AgencySpec s = ValidSpec();
  s.display_name = std::string(200, 'a');
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = std::string(201, 'a');
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = "tab\tinside";
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = "bad \xC3 utf8";
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = std::string(100, 'a') + std::string(50, 'a') + "\xC3\xA9";  // 151 chars
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
}

TEST(Agency, Jurisdictions) {
  for (const char* ok : {"BE", "BE-BRU", "BE-VAN", "BE-WLX", "NL", "FR-75", "EU", "NL-NH"}) {
    EXPECT_TRUE(IsValidJurisdiction(ok)) << ok;
  }
  for (const char* bad : {"", "B", "BEL", "BE-", "BE-XYZ", "be-bru", "BE_BRU", "NL-ABCD", "1E"}) {
    EXPECT_FALSE(IsValidJurisdiction(bad)) << bad;
  }
}

TEST(Agency, LanguagesAndSerials) {
  for (const char* ok : {"nl", "fr", "de", "en", "es", "pt", "ro", "bg", "zh"}) {
    EXPECT_TRUE(IsValidLanguage(ok)) << ok;
  }
  for (const char* bad : {"", "xx", "NL", "nld", "n"}) EXPECT_FALSE(IsValidLanguage(bad)) << bad;
  EXPECT_TRUE(IsValidSerial("0123456789ABCDEF"));
  EXPECT_FALSE(IsValidSerial(std::string(41, 'A')));
  EXPECT_FALSE(IsValidSerial("abc"));  // not normalised
}

TEST(Agency, CapacityIsZeroToOneHundredThousandPlaces) {
  AgencySpec s = ValidSpec();
  s.capacity = 40;
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
  s.capacity = -1;
  EXPECT_EQ(FieldsOf(NormalizeAgencySpec(s, kTd).status()),
            (std::vector<std::string>{"agency.capacity"}));
  s.capacity = 100001;
  EXPECT_EQ(FieldsOf(NormalizeAgencySpec(s, kTd).status()),
            (std::vector<std::string>{"agency.capacity"}));
}

TEST(Agency, TooManyListEntries) {
  AgencySpec s = ValidSpec();
  s.languages.assign(17, "nl");
  auto r = NormalizeAgencySpec(s, kTd);
  EXPECT_EQ(FieldsOf(r.status()), (std::vector<std::string>{"agency.languages"}));
}

TEST(Agency, LifecycleVersionsAndStates) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok());
  Agency a = *NewAgency(*spec, t0);
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.state, AgencyState::kActive);

  EXPECT_EQ(ReinstateAgency(a, t0).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SuspendAgency(a, "  ", t0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SuspendAgency(a, std::string(501, 'r'), t0).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto suspended = SuspendAgency(a, " key compromise ", t0 + absl::Seconds(1));
  ASSERT_TRUE(suspended.ok());
  EXPECT_EQ(suspended->state, AgencyState::kSuspended);
  EXPECT_EQ(suspended->suspension_reason, "key compromise");
  EXPECT_EQ(suspended->version, 2);
  EXPECT_EQ(suspended->created_at, t0);
  EXPECT_EQ(SuspendAgency(*suspended, "again", t0).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // An update keeps the suspension.
  AgencySpec changed = *spec;
  changed.display_name = "Renamed";
  auto updated = UpdateAgency(*suspended, changed, /*expected_version=*/2, t0 + absl::Seconds(2));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->state, AgencyState::kSuspended);
  EXPECT_EQ(updated->spec.display_name, "Renamed");
  EXPECT_EQ(updated->version, 3);
  EXPECT_EQ(UpdateAgency(*updated, changed, /*expected_version=*/2, t0).status().code(),
            absl::StatusCode::kAborted);

  auto reinstated = ReinstateAgency(*updated, t0 + absl::Seconds(3));
  ASSERT_TRUE(reinstated.ok());
  EXPECT_EQ(reinstated->state, AgencyState::kActive);
  EXPECT_TRUE(reinstated->suspension_reason.empty());
  EXPECT_EQ(reinstated->version, 4);
}

TEST(Agency, Revocation) {
  auto r = NewRevocation("01:BE:EF", "key_compromise", absl::UnixEpoch());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serial, "1BEEF");
  EXPECT_EQ(NewRevocation("zz", "x", absl::UnixEpoch()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(NewRevocation("", "", absl::UnixEpoch()).status()),
            (std::vector<std::string>{"serial", "reason"}));
}

TEST(Agency, FiltersAndPages) {
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok());
  Agency a = *NewAgency(*spec, absl::UnixEpoch());
  auto f = NormalizeFilter(AgencyFilter{AgencyType::kPolice, "be-bru", "THB", "NL", false});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(Matches(a, *f));
  f->language = "de";
  EXPECT_FALSE(Matches(a, *f));
  a.state = AgencyState::kSuspended;
  EXPECT_FALSE(Matches(a, AgencyFilter{}));
  EXPECT_TRUE(Matches(a, AgencyFilter{.include_suspended = true}));
  EXPECT_FALSE(NormalizeFilter(AgencyFilter{.language = "klingon"}).ok());

  EXPECT_EQ(*EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*EffectivePageSize(10), 10);
  EXPECT_EQ(*EffectivePageSize(100000), kMaxPageSize);
  EXPECT_FALSE(EffectivePageSize(-1).ok());
}

// ----- attributes -----

TEST(Agency, ValidatesAttributesWithTheOtherFields) {
  AgencySpec s = ValidSpec();
  s.display_name = "";
  s.attributes = {
      {"time_zone", "Europe/Brussels"}, {"audit_reviewer", "true"}, {"time_zone", "Mars/Base"}};
  auto r = NormalizeAgencySpec(s, kTd);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(r.status()),
            (std::vector<std::string>{"agency.display_name", "agency.attributes[1].name",
                                      "agency.attributes[2].name"}));
}

TEST(Agency, RegistrationSetsAndUpdateMergesAttributes) {
  AgencySpec s = ValidSpec();
  s.id = AgencyId{"", AgencyType::kAdmin, "ops"};
  s.attributes = {{"directory_administrator", "true"}};
  auto spec = NormalizeAgencySpec(s, kTd);
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto a = NewAgency(*spec, absl::UnixEpoch());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->attributes, (attributes::AttributeMap{{"directory_administrator", "true"}}));
  EXPECT_TRUE(a->spec.attributes.empty());  // input only

  AgencySpec change = *spec;
  change.attributes = {{"audit_reviewer", "true"}};
  auto b = UpdateAgency(*a, change, 0, absl::UnixEpoch());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->attributes, (attributes::AttributeMap{{"audit_reviewer", "true"},
                                                     {"directory_administrator", "true"}}));
  change.attributes = {{"directory_administrator", ""}};
  auto c = UpdateAgency(*b, change, 0, absl::UnixEpoch());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->attributes, (attributes::AttributeMap{{"audit_reviewer", "true"}}));
  // An update without attributes keeps them (an older client cannot drop a role by omission).
  change.attributes.clear();
  EXPECT_EQ(UpdateAgency(*c, change, 0, absl::UnixEpoch())->attributes, c->attributes);
}

// ----- key endorsement -----

class KeyEndorsementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AgencySpec s = ValidSpec();
    s.signing_public_key_pem = old_sign_.PublicKey().ToPem();
    s.sealing_public_key_pem = old_seal_.PublicKey().ToPem();
    spec_ = *NormalizeAgencySpec(s, kTd);
    current_ = *NewAgency(spec_, t0_);
    rotated_ = spec_;
    rotated_.signing_public_key_pem = new_sign_.PublicKey().ToPem();
    rotated_.sealing_public_key_pem = new_seal_.PublicKey().ToPem();
  }

  crypto::KeyEndorsement Endorse(const crypto::Ed25519PrivateKey& by) {
    return *crypto::SignKeyEndorsement(spec_.id.ToSpiffe(), by, new_sign_.PublicKey(),
                                       new_seal_.PublicKey(), t0_ + absl::Nanoseconds(123456789));
  }

  const absl::Time t0_ = absl::FromUnixSeconds(1'800'000'000);
  crypto::Ed25519PrivateKey old_sign_ = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey old_seal_ = crypto::X25519PrivateKey::Generate();
  crypto::Ed25519PrivateKey new_sign_ = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey new_seal_ = crypto::X25519PrivateKey::Generate();
  AgencySpec spec_;
  AgencySpec rotated_;
  Agency current_;
};

TEST_F(KeyEndorsementTest, AValidEndorsementIsAcceptedAndStored) {
  AgencySpec next = rotated_;
  next.key_endorsement = Endorse(old_sign_);
  auto updated = UpdateAgency(current_, next, 0, t0_);
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_TRUE(updated->key_endorsement.has_value());
  EXPECT_EQ(updated->key_endorsement->previous_signing_key, old_sign_.PublicKey().Raw());
  EXPECT_EQ(updated->key_endorsement->issued_at, t0_ + absl::Nanoseconds(123456789));
  EXPECT_FALSE(updated->spec.key_endorsement.has_value());  // input only

  // Keys unchanged afterwards (e.g. a profile edit): the endorsement is kept; resending the
  // same one is fine, another one is refused.
  AgencySpec same = rotated_;
  same.display_name = "Renamed";
  auto edited = UpdateAgency(*updated, same, 0, t0_);
  ASSERT_TRUE(edited.ok());
  ASSERT_TRUE(edited->key_endorsement.has_value());
  EXPECT_EQ(edited->key_endorsement->signature, updated->key_endorsement->signature);
  same.key_endorsement = updated->key_endorsement;
  EXPECT_TRUE(UpdateAgency(*updated, same, 0, t0_).ok());
  same.key_endorsement->signature[0] ^= 1;
  auto other = UpdateAgency(*updated, same, 0, t0_);
  EXPECT_EQ(FieldsOf(other.status()), std::vector<std::string>{"agency.key_endorsement"});
}

TEST_F(KeyEndorsementTest, AForgedEndorsementIsRefused) {
  // Signed by a key the attacker holds, naming it as the previous key.
  const crypto::Ed25519PrivateKey attacker = crypto::Ed25519PrivateKey::Generate();
  AgencySpec next = rotated_;
  next.key_endorsement = Endorse(attacker);
  auto r = UpdateAgency(current_, next, 0, t0_);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(r.status()), std::vector<std::string>{"agency.key_endorsement"});
  EXPECT_EQ(ReasonOf(r.status()), "KEY_ENDORSEMENT_INVALID");

  // Naming the current key but with a signature that is not its own.
  next.key_endorsement->previous_signing_key = old_sign_.PublicKey().Raw();
  r = UpdateAgency(current_, next, 0, t0_);
  EXPECT_EQ(FieldsOf(r.status()), std::vector<std::string>{"agency.key_endorsement"});
  EXPECT_EQ(ReasonOf(r.status()), "KEY_ENDORSEMENT_INVALID");

  // A valid endorsement of OTHER keys does not cover these.
  next = rotated_;
  next.key_endorsement = Endorse(old_sign_);
  next.sealing_public_key_pem = crypto::X25519PrivateKey::Generate().PublicKey().ToPem();
  r = UpdateAgency(current_, next, 0, t0_);
  EXPECT_EQ(FieldsOf(r.status()), std::vector<std::string>{"agency.key_endorsement"});
}

TEST_F(KeyEndorsementTest, AReKeyWithoutEndorsementIsAllowedAndCarriesNone) {
  AgencySpec next = rotated_;
  next.key_endorsement = Endorse(old_sign_);
  const Agency endorsed = *UpdateAgency(current_, next, 0, t0_);
  // An administrator re-keys after a compromise: allowed, and the old endorsement goes.
  AgencySpec rekey = spec_;
  rekey.signing_public_key_pem = crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem();
  auto r = UpdateAgency(endorsed, rekey, 0, t0_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->key_endorsement.has_value());
}

TEST_F(KeyEndorsementTest, MalformedOrAtRegistrationIsRefusedWithFieldPaths) {
  AgencySpec bad = rotated_;
  bad.key_endorsement = crypto::KeyEndorsement{"short", absl::InfinitePast(), "sig"};
  auto r = NormalizeAgencySpec(bad, kTd);
  EXPECT_EQ(FieldsOf(r.status()),
            (std::vector<std::string>{"agency.key_endorsement.previous_signing_key",
                                      "agency.key_endorsement.signature",
                                      "agency.key_endorsement.issued_at"}));
  AgencySpec at_registration = rotated_;
  at_registration.key_endorsement = Endorse(old_sign_);
  auto n = NewAgency(at_registration, t0_);
  EXPECT_EQ(FieldsOf(n.status()), std::vector<std::string>{"agency.key_endorsement"});
}

// ----- accountability, disclosure, changes, announcements -----

TEST(Agency, ChangesNeedAnOfficerAndAJustification) {
  EXPECT_TRUE(CheckAccountability("op-17", "ticket 42").ok());
  Status s = CheckAccountability("", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(s), (std::vector<std::string>{"concord-officer", "concord-justification"}));
  EXPECT_EQ(ReasonOf(s), "ACCOUNTABILITY_REQUIRED");
  EXPECT_EQ(FieldsOf(CheckAccountability("op-17", "")),
            std::vector<std::string>{"concord-justification"});
  EXPECT_EQ(FieldsOf(CheckAccountability("", "why")), std::vector<std::string>{"concord-officer"});
}

TEST(Agency, DisclosureByPrincipal) {
  using P = authz::Principal;
  for (P p : {P::kPolice, P::kMagistrate, P::kReceptionCentre, P::kImmigrationOffice,
              P::kSocialInspection, P::kCoordinationUnit, P::kDirectoryAdmin, P::kAuditReviewer}) {
    EXPECT_EQ(DisclosureFor({p}), Disclosure::kFull) << authz::PrincipalName(p);
  }
  for (P p : {P::kPlatform, P::kForeignPartner, P::kConcordService, P::kOtherAdmin}) {
    EXPECT_EQ(DisclosureFor({p}), Disclosure::kPublic) << authz::PrincipalName(p);
  }
}

TEST(Agency, DiffNamesWhatChangedWithoutPersonalData) {
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok());
  const Agency a = *NewAgency(*spec, absl::UnixEpoch());
  AgencySpec next = *spec;
  const crypto::X25519PrivateKey seal = crypto::X25519PrivateKey::Generate();
  next.sealing_public_key_pem = seal.PublicKey().ToPem();
  next.display_name = "Another name";
  next.attributes = {{"time_zone", "Europe/Paris"}};
  const Agency b = *UpdateAgency(a, next, 0, absl::UnixEpoch());
  const std::vector<RecordChange> changes = DiffAgency(&a, b);
  EXPECT_EQ(ChangeSummary(changes),
            "display_name; sealing_public_key=" + crypto::KeyFingerprint(seal.PublicKey().Raw()) +
                "; attributes.time_zone=Europe/Paris");
  // The new name itself is not in the summary.
  EXPECT_EQ(ChangeSummary(changes).find("Another"), std::string::npos);
  EXPECT_TRUE(DiffAgency(&b, b).empty());
  // Setting a default explicitly is not a change.
  AgencySpec pin = next;
  pin.attributes = {{"time_zone", "Europe/Paris"}};
  EXPECT_TRUE(DiffAgency(&b, *UpdateAgency(b, pin, 0, absl::UnixEpoch())).empty());
  // A registration lists the keys and the explicit attributes.
  const std::string registered = ChangeSummary(DiffAgency(nullptr, a));
  EXPECT_NE(registered.find("signing_public_key="), std::string::npos);
  EXPECT_NE(registered.find("sealing_public_key="), std::string::npos);
}

TEST(Agency, AnnouncementsGoToAgenciesWithAnInbox) {
  for (AgencyType t : kAllAgencyTypes) {
    const bool inbox = t == AgencyType::kPolice || t == AgencyType::kMagistrate ||
                       t == AgencyType::kReceptionCentre || t == AgencyType::kImmigrationOffice ||
                       t == AgencyType::kSocialInspection || t == AgencyType::kGuardianshipService;
    EXPECT_EQ(ReceivesDirectoryAnnouncements(AgencyId{"concord.test", t, "x"}), inbox)
        << AgencyTypeName(t);
  }
  const AgencyId centre{"concord.test", AgencyType::kReceptionCentre, "payoke"};
  const AgencyId ops{"concord.test", AgencyType::kAdmin, "ops"};
  const std::string body =
      AnnouncementBody("agency.updated", centre, 7, ops, absl::FromUnixSeconds(1'800'000'000),
                       {{"sealing_public_key", "ab12"}, {"capacity", "3"}});
  const nlohmann::json j = nlohmann::json::parse(body);
  EXPECT_EQ(j["type"], "directory.change");
  EXPECT_EQ(j["agency"], "reception_centre/payoke");
  EXPECT_EQ(j["version"], 7);
  EXPECT_EQ(j["by"], "admin/ops");
  EXPECT_EQ(j["at"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(j["changes"][0]["field"], "sealing_public_key");
  EXPECT_EQ(j["changes"][0]["value"], "ab12");
  EXPECT_EQ(AnnouncementId(centre, 7), "reception_centre/payoke@v7");
}

}  // namespace
}  // namespace concord::directory
