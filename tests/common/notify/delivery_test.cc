#include "common/notify/delivery.h"

#include <gtest/gtest.h>

#include "tests/common/notify/fake_sender.h"

namespace concord::notify {
namespace {

using testing::FakeMessaging;

constexpr char kItem[] = "ref-cccccccccccccccccccccccccc-v4";

MessageIds Ids() {
  return *MessageIds::Create(*NotifierSecret::FromBytes(std::string(32, 's')),
                             "admin/concord-referrals", "rn-");
}

Notification Note() {
  return Notification{"ref-cccccccccccccccccccccccccc",
                      {AgencyId{"concord.test", AgencyType::kPolice, "pz-liege"}},
                      R"({"type":"referral.transition"})"};
}

TEST(Deliver, SendsUnderTheFirstIdWhenItIsFree) {
  FakeMessaging messaging;
  const DeliveryResult r = Deliver(messaging, Ids(), kItem, Note(), 8);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.message_id, Ids().Derive(kItem, 0));
  EXPECT_EQ(r.ids_taken, 0);
  ASSERT_EQ(messaging.stored.size(), 1u);
}

// ALREADY_EXISTS is never "sent": the rule moves on to a fresh id and counts only what
// messaging stored as the notifier's own.
TEST(Deliver, ATakenIdIsNeverTakenForDeliveredAndAFreshIdIsUsed) {
  FakeMessaging messaging;
  messaging.taken = {Ids().Derive(kItem, 0), Ids().Derive(kItem, 1)};
  const DeliveryResult r = Deliver(messaging, Ids(), kItem, Note(), 8);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.message_id, Ids().Derive(kItem, 2));
  EXPECT_EQ(r.ids_taken, 2);
  ASSERT_EQ(messaging.stored.size(), 1u);
  EXPECT_EQ(messaging.stored[0].message_id, Ids().Derive(kItem, 2));
}

TEST(Deliver, EveryIdTakenIsAnErrorNotADelivery) {
  FakeMessaging messaging;
  for (int i = 0; i < 3; ++i) messaging.taken.insert(Ids().Derive(kItem, i));
  const DeliveryResult r = Deliver(messaging, Ids(), kItem, Note(), 3);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kAlreadyExists) << r.status;
  EXPECT_EQ(r.ids_taken, 3);
  EXPECT_TRUE(messaging.stored.empty());
  EXPECT_EQ(messaging.attempts.size(), 3u) << "bounded by max_attempts";
}

TEST(Deliver, OtherAnswersEndTheAttempts) {
  for (const Status& answer :
       {absl::UnavailableError("down"), absl::FailedPreconditionError("recipient suspended")}) {
    FakeMessaging messaging;
    messaging.errors = {answer};
    const DeliveryResult r = Deliver(messaging, Ids(), kItem, Note(), 8);
    EXPECT_EQ(r.status.code(), answer.code());
    EXPECT_EQ(messaging.attempts.size(), 1u);
  }
  EXPECT_TRUE(IsPermanent(absl::FailedPreconditionError("")));
  EXPECT_TRUE(IsPermanent(absl::NotFoundError("")));
  EXPECT_TRUE(IsPermanent(absl::InvalidArgumentError("")));
  EXPECT_TRUE(IsPermanent(absl::PermissionDeniedError("")));
  EXPECT_FALSE(IsPermanent(absl::UnavailableError("")));
  EXPECT_FALSE(IsPermanent(absl::DeadlineExceededError("")));
  EXPECT_FALSE(IsPermanent(absl::AlreadyExistsError("")));
}

}  // namespace
}  // namespace concord::notify
