// The decision table of key continuity (client/keys/key_continuity.h), row by row.
#include "client/keys/key_continuity.h"

#include <gtest/gtest.h>

namespace concord::keys {
namespace {

constexpr std::string_view kCentre = "spiffe://concord.be/agency/reception_centre/pag-asa";
const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// One generation of an agency's key pairs.
struct Generation {
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey sealing = crypto::X25519PrivateKey::Generate();
  AgencyKeys keys() const { return {signing.PublicKey().Raw(), sealing.PublicKey().Raw()}; }
};

KnownAgency Known(const Generation& g) {
  return KnownAgency{g.keys(), kT0, kT0, KeySource::kFirstUse};
}

// `by` endorses `next` for `agency`.
crypto::KeyEndorsement Endorse(const Generation& by, const Generation& next,
                               std::string_view agency = kCentre) {
  return *crypto::SignKeyEndorsement(agency, by.signing, next.signing.PublicKey(),
                                     next.sealing.PublicKey(), kT0 + absl::Hours(1));
}

TEST(DecideKeys, FirstUseIsRemembered) {
  Generation a;
  EXPECT_EQ(DecideKeys(kCentre, std::nullopt, a.keys(), std::nullopt).decision,
            KeyDecision::kFirstUse);
  const KnownAgency r = Remember(std::nullopt, a.keys(), KeyDecision::kFirstUse, kT0);
  EXPECT_EQ(r.keys, a.keys());
  EXPECT_EQ(r.first_seen, kT0);
  EXPECT_EQ(r.source, KeySource::kFirstUse);
}

TEST(DecideKeys, TheSameKeysAreFine) {
  Generation a;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), a.keys(), std::nullopt).decision,
            KeyDecision::kUnchanged);
  // An endorsement next to unchanged keys changes nothing.
  Generation b;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), a.keys(), Endorse(b, a)).decision,
            KeyDecision::kUnchanged);
}

// The attack of issue 9 item 2: an administrator identity swaps a centre's sealing key.
TEST(DecideKeys, ASwappedSealingKeyWithoutEndorsementIsRefused) {
  Generation a, attacker;
  AgencyKeys swapped = a.keys();
  swapped.sealing = attacker.sealing.PublicKey().Raw();
  const KeyVerdict v = DecideKeys(kCentre, Known(a), swapped, std::nullopt);
  EXPECT_EQ(v.decision, KeyDecision::kRefused);
  EXPECT_NE(v.reason.find("not endorsed"), std::string::npos) << v.reason;
  swapped = a.keys();
  swapped.signing = attacker.signing.PublicKey().Raw();
  EXPECT_EQ(DecideKeys(kCentre, Known(a), swapped, std::nullopt).decision, KeyDecision::kRefused);
}

TEST(DecideKeys, ARotationEndorsedByTheRememberedKeyIsAccepted) {
  Generation a, b;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), b.keys(), Endorse(a, b)).decision,
            KeyDecision::kEndorsedRotation);
  // Only the sealing key rotates: endorsed by the (unchanged) signing key.
  Generation sealing_only;
  sealing_only.signing = a.signing;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), sealing_only.keys(), Endorse(a, sealing_only)).decision,
            KeyDecision::kEndorsedRotation);
  const KnownAgency r =
      Remember(KnownAgency{a.keys(), kT0 - absl::Hours(24), kT0, KeySource::kAccepted}, b.keys(),
               KeyDecision::kEndorsedRotation, kT0 + absl::Hours(2));
  EXPECT_EQ(r.source, KeySource::kEndorsed);
  EXPECT_EQ(r.first_seen, kT0 - absl::Hours(24)) << "first_seen is kept";
  EXPECT_EQ(r.since, kT0 + absl::Hours(2));
}

// Whoever controls the directory can publish an endorsement made with a key of their own, and
// name that key "previous": only the remembered key counts.
TEST(DecideKeys, AnEndorsementByAnyOtherKeyIsRefused) {
  Generation a, attacker;
  const KeyVerdict v = DecideKeys(kCentre, Known(a), attacker.keys(), Endorse(attacker, attacker));
  EXPECT_EQ(v.decision, KeyDecision::kRefused);
  EXPECT_NE(v.reason.find("another key"), std::string::npos) << v.reason;
}

TEST(DecideKeys, ATamperedOrMisdirectedEndorsementIsRefused) {
  Generation a, b, c;
  crypto::KeyEndorsement e = Endorse(a, b);
  e.signature[0] ^= 1;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), b.keys(), e).decision, KeyDecision::kRefused);
  e = Endorse(a, b);
  e.issued_at += absl::Seconds(1);
  EXPECT_EQ(DecideKeys(kCentre, Known(a), b.keys(), e).decision, KeyDecision::kRefused);
  // Made for another agency of the same operator.
  EXPECT_EQ(DecideKeys(kCentre, Known(a), b.keys(),
                       Endorse(a, b, "spiffe://concord.be/agency/reception_centre/payoke"))
                .decision,
            KeyDecision::kRefused);
  // Endorses b, but the directory holds c.
  EXPECT_EQ(DecideKeys(kCentre, Known(a), c.keys(), Endorse(a, b)).decision, KeyDecision::kRefused);
}

// A -> B -> C while this party was away: the directory shows C endorsed by B, which this party
// never saw.
TEST(DecideKeys, TwoRotationsWhileAwayNeedAPerson) {
  Generation a, b, c;
  EXPECT_EQ(DecideKeys(kCentre, Known(a), c.keys(), Endorse(b, c)).decision, KeyDecision::kRefused);
}

TEST(KeySource, NamesRoundTrip) {
  for (KeySource s : {KeySource::kFirstUse, KeySource::kEndorsed, KeySource::kAccepted}) {
    EXPECT_EQ(ParseKeySource(KeySourceName(s)), s);
  }
  EXPECT_EQ(ParseKeySource("trusted"), std::nullopt);
}

}  // namespace
}  // namespace concord::keys
