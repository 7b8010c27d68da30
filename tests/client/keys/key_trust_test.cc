// KeyTrust (client/keys/key_trust.h) on directory records built here (a fake directory
// response), and through the messaging library's TrustKeys hook against an in-process fake
// Directory and Messaging: a refused key stops SendMessage before anything is sent.
#include "client/keys/key_trust.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include "client/messaging/messaging_client.h"
#include "common/crypto/hash.h"
#include "common/crypto/key_endorsement.h"
#include "tests/support/fake_clock.h"

namespace concord::keys {
namespace {

namespace cv1 = ::concord::common::v1;
namespace dv1 = ::concord::directory::v1;
namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;

struct Generation {
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey sealing = crypto::X25519PrivateKey::Generate();
};

cv1::AgencyId Centre() {
  cv1::AgencyId a;
  a.set_trust_domain("concord.test");
  a.set_type(cv1::AGENCY_TYPE_RECEPTION_CENTRE);
  a.set_id("pag-asa");
  return a;
}
constexpr char kCentreSpiffe[] = "spiffe://concord.test/agency/reception_centre/pag-asa";

// The directory's answer for the centre with `g`'s keys, endorsed by `by` when given.
dv1::Agency Record(const Generation& g, const Generation* by = nullptr) {
  dv1::Agency r;
  *r.mutable_id() = Centre();
  r.set_signing_public_key_pem(g.signing.PublicKey().ToPem());
  r.set_sealing_public_key_pem(g.sealing.PublicKey().ToPem());
  if (by != nullptr) {
    auto e =
        crypto::SignKeyEndorsement(kCentreSpiffe, by->signing, g.signing.PublicKey(),
                                   g.sealing.PublicKey(), absl::FromUnixSeconds(1'800'000'100));
    EXPECT_TRUE(e.ok());
    dv1::KeyEndorsement* p = r.mutable_key_endorsement();
    p->set_previous_signing_key(e->previous_signing_key);
    p->mutable_issued_at()->set_seconds(absl::ToUnixSeconds(e->issued_at));
    p->set_signature(e->signature);
  }
  return r;
}

class KeyTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("concord_key_trust_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return (dir_ / "known_keys.json").string(); }

  std::filesystem::path dir_;
  testing::FakeClock clock_;
};

TEST_F(KeyTrustTest, FirstUseThenTheSameKeys) {
  KeyTrust trust(Path(), clock_);
  Generation a;
  ASSERT_TRUE(trust.Check(Centre(), Record(a)).ok());
  auto known = trust.Remembered(kCentreSpiffe);
  ASSERT_TRUE(known.ok() && known->has_value());
  EXPECT_EQ((*known)->source, KeySource::kFirstUse);
  EXPECT_EQ((*known)->keys.sealing, a.sealing.PublicKey().Raw());
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(trust.Check(Centre(), Record(a)).ok());
  EXPECT_EQ((*trust.Remembered(kCentreSpiffe))->since, (*known)->since) << "nothing rewritten";
}

// The refusal names the agency, both fingerprint pairs and the command that accepts the change;
// the file keeps the remembered keys.
TEST_F(KeyTrustTest, ASwappedKeyIsRefusedWithBothFingerprints) {
  KeyTrust trust(Path(), clock_);
  Generation a, attacker;
  ASSERT_TRUE(trust.Check(Centre(), Record(a)).ok());
  Generation swapped;
  swapped.signing = a.signing;
  swapped.sealing = attacker.sealing;
  const Status s = trust.Check(Centre(), Record(swapped));
  ASSERT_TRUE(IsKeyChangeRefused(s)) << s;
  const std::string m(s.message());
  EXPECT_NE(m.find("reception_centre/pag-asa"), std::string::npos) << m;
  EXPECT_NE(m.find(crypto::KeyFingerprint(a.sealing.PublicKey().Raw())), std::string::npos) << m;
  EXPECT_NE(m.find(crypto::KeyFingerprint(attacker.sealing.PublicKey().Raw())), std::string::npos);
  EXPECT_NE(m.find(crypto::KeyFingerprint(a.signing.PublicKey().Raw())), std::string::npos);
  EXPECT_NE(m.find("concordctl directory trust reception_centre/pag-asa"), std::string::npos);
  EXPECT_EQ((*trust.Remembered(kCentreSpiffe))->keys.sealing, a.sealing.PublicKey().Raw());
  // Still refused the next time: nothing was learnt from the refusal.
  EXPECT_TRUE(IsKeyChangeRefused(trust.Check(Centre(), Record(swapped))));
}

// The automatic acceptance of a routine rotation, on the directory response as the directory
// will serve it (Agency.key_endorsement).
TEST_F(KeyTrustTest, AnEndorsedRotationIsAcceptedAutomaticallyAndNoRollback) {
  KeyTrust trust(Path(), clock_);
  Generation a, b;
  ASSERT_TRUE(trust.Check(Centre(), Record(a)).ok());
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(trust.Check(Centre(), Record(b, &a)).ok());
  auto known = *trust.Remembered(kCentreSpiffe);
  EXPECT_EQ(known->source, KeySource::kEndorsed);
  EXPECT_EQ(known->keys.signing, b.signing.PublicKey().Raw());
  EXPECT_EQ(known->since, clock_.Now());
  // Going back to the old keys is a change like any other.
  EXPECT_TRUE(IsKeyChangeRefused(trust.Check(Centre(), Record(a))));
  // An endorsement by a key of the attacker's own is refused.
  Generation attacker;
  EXPECT_TRUE(IsKeyChangeRefused(trust.Check(Centre(), Record(attacker, &attacker))));
}

TEST_F(KeyTrustTest, AcceptRecordsThePersonsDecision) {
  KeyTrust trust(Path(), clock_);
  Generation a, b;
  ASSERT_TRUE(trust.Check(Centre(), Record(a)).ok());
  ASSERT_TRUE(IsKeyChangeRefused(trust.Check(Centre(), Record(b))));
  auto accepted = trust.Accept(Centre(), Record(b));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->source, KeySource::kAccepted);
  EXPECT_TRUE(trust.Check(Centre(), Record(b)).ok());
}

TEST_F(KeyTrustTest, AFileProblemIsNotAKeyChange) {
  std::filesystem::create_directories(Path());  // a directory where the file should be
  KeyTrust trust(Path(), clock_);
  Generation a;
  const Status s = trust.Check(Centre(), Record(a));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(ReasonOf(s), kKnownKeysFileReason) << s;
  EXPECT_FALSE(IsKeyChangeRefused(s));
  dv1::Agency no_keys = Record(a);
  no_keys.clear_sealing_public_key_pem();
  EXPECT_EQ(KeysOfRecord(Centre(), no_keys).status().code(), absl::StatusCode::kInvalidArgument);
}

// A partner deployment's agency (federation, Counterpart::kPartner) with the same type and id as
// a local one: each is remembered under its own SPIFFE id, so neither's keys stand for the
// other's; a change of the partner's keys is refused naming its SPIFFE id and `concordctl
// federation trust`, and leaves the local agency's keys usable.
TEST_F(KeyTrustTest, APartnerAgencyIsRememberedUnderItsOwnTrustDomain) {
  KeyTrust trust(Path(), clock_);
  Generation local, partner, swapped;
  cv1::AgencyId twin = Centre();
  twin.set_trust_domain("partner.test");
  constexpr char kTwinSpiffe[] = "spiffe://partner.test/agency/reception_centre/pag-asa";
  dv1::Agency twin_record = Record(partner);
  *twin_record.mutable_id() = twin;
  ASSERT_TRUE(trust.Check(Centre(), Record(local)).ok());
  // Were the keys remembered by "<type>/<id>", the twin's first use would read as a change.
  ASSERT_TRUE(trust.Check(twin, twin_record, Counterpart::kPartner).ok());
  EXPECT_EQ((*trust.Remembered(kTwinSpiffe))->keys.sealing, partner.sealing.PublicKey().Raw());
  EXPECT_EQ((*trust.Remembered(kCentreSpiffe))->keys.sealing, local.sealing.PublicKey().Raw());

  dv1::Agency changed = Record(swapped);
  *changed.mutable_id() = twin;
  const Status s = trust.Check(twin, changed, Counterpart::kPartner);
  ASSERT_TRUE(IsKeyChangeRefused(s)) << s;
  const std::string m(s.message());
  EXPECT_NE(
      m.find(std::string("the keys of ") + kTwinSpiffe + " in the partner's directory export"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find(std::string("concordctl federation trust ") + kTwinSpiffe), std::string::npos)
      << m;
  EXPECT_NE(m.find(crypto::KeyFingerprint(swapped.sealing.PublicKey().Raw())), std::string::npos);
  EXPECT_EQ(m.find("directory trust"), std::string::npos) << m;
  EXPECT_TRUE(trust.Check(Centre(), Record(local)).ok()) << "the local agency is not affected";
  ASSERT_TRUE(trust.Accept(twin, changed).ok());
  EXPECT_TRUE(trust.Check(twin, changed, Counterpart::kPartner).ok());
  EXPECT_EQ((*trust.Remembered(kCentreSpiffe))->keys.sealing, local.sealing.PublicKey().Raw());
}

// ---- through the messaging library ---------------------------------------------------------

class FakeDirectory final : public dv1::Directory::Service {
 public:
  grpc::Status GetAgency(grpc::ServerContext*, const dv1::GetAgencyRequest* req,
                         dv1::GetAgencyResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    *resp->mutable_agency() = record;
    return grpc::Status::OK;
  }
  std::mutex mu;
  dv1::Agency record;
};

class FakeMessaging final : public mv1::Messaging::Service {
 public:
  grpc::Status Send(grpc::ServerContext*, const mv1::SendRequest* req,
                    mv1::SendResponse* resp) override {
    ++sends;
    resp->set_message_id(req->envelope().message_id());
    return grpc::Status::OK;
  }
  std::atomic<int> sends{0};
};

TEST_F(KeyTrustTest, TheMessagingLibrarySendsNothingToARefusedKey) {
  FakeDirectory directory;
  FakeMessaging messaging;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&directory);
  builder.RegisterService(&messaging);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  KeyTrust trust(Path(), clock_);
  cv1::AgencyId police;
  police.set_trust_domain("concord.test");
  police.set_type(cv1::AGENCY_TYPE_POLICE);
  police.set_id("pz-liege");
  mc::MessagingClient client(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()),
      mc::SenderIdentity{police, crypto::Ed25519PrivateKey::Generate(),
                         crypto::X25519PrivateKey::Generate()},
      mc::ClientOptions{}, [&trust](const cv1::AgencyId& agency, const dv1::Agency& record) {
        return trust.Check(agency, record);
      });
  Generation a, b, c;
  directory.record = Record(a);
  mc::MessageDraft draft;
  draft.body = "hello";
  ASSERT_TRUE(client.SendMessage(draft, {Centre()}).ok());
  EXPECT_EQ(messaging.sends.load(), 1);

  {
    std::lock_guard<std::mutex> lock(directory.mu);
    directory.record = Record(b);  // swapped without endorsement
  }
  auto refused = client.SendMessage(draft, {Centre()});
  EXPECT_TRUE(IsKeyChangeRefused(refused.status())) << refused.status();
  EXPECT_EQ(messaging.sends.load(), 1) << "nothing was sent";

  ASSERT_TRUE(trust.Accept(Centre(), Record(b)).ok());
  ASSERT_TRUE(client.SendMessage(draft, {Centre()}).ok());
  {
    std::lock_guard<std::mutex> lock(directory.mu);
    directory.record = Record(c, &b);  // a routine rotation
  }
  ASSERT_TRUE(client.SendMessage(draft, {Centre()}).ok());
  EXPECT_EQ(messaging.sends.load(), 3);
  server->Shutdown();
}

}  // namespace
}  // namespace concord::keys
