#include "services/messaging/mailbox.h"

#include <gtest/gtest.h>

#include <thread>

#include "services/messaging/delivery_notifier.h"

namespace concord::messaging {
namespace {

// Test the type rules of the communication policy for every agency type.
TEST(CommunicationPolicy, SenderAndRecipientTypes) {
  for (AgencyType t : kAllAgencyTypes) {
    const bool excluded = t == AgencyType::kForeignPartner || t == AgencyType::kAdmin ||
                          t == AgencyType::kCoordinationUnit;
    const Status as_sender = CheckSenderType(t);
    const Status as_recipient = CheckRecipientType(t, 0);
    EXPECT_EQ(as_sender.ok(), !excluded) << AgencyTypeName(t);
    EXPECT_EQ(as_recipient.ok(), !excluded) << AgencyTypeName(t);
    if (excluded) {
      EXPECT_EQ(as_sender.code(), absl::StatusCode::kPermissionDenied);
      EXPECT_EQ(ReasonOf(as_sender), "SENDER_TYPE_NOT_ALLOWED");
      EXPECT_EQ(ReasonOf(as_recipient), "RECIPIENT_TYPE_NOT_ALLOWED");
    }
  }
}

// Test which agency types Concord's notifiers may notify: every notifier the domestic operational
// agencies; admin/concord-liaison also platforms (orders addressed to them); none foreign
// partners, admin identities or coordination units. Before the liaison row, a platform was
// refused to admin/concord-liaison too.
TEST(CommunicationPolicy, SystemNotifierRecipients) {
  for (std::string_view notifier : {"concord-referrals", "concord-directory", "concord-liaison"}) {
    for (AgencyType t : kAllAgencyTypes) {
      const bool never = t == AgencyType::kForeignPartner || t == AgencyType::kAdmin ||
                         t == AgencyType::kCoordinationUnit;
      const bool allowed = !never && (t != AgencyType::kPlatform || notifier == kLiaisonNotifierId);
      const Status s = CheckSystemRecipient(notifier, t);
      EXPECT_EQ(s.ok(), allowed) << notifier << " -> " << AgencyTypeName(t);
      if (!allowed) {
        EXPECT_EQ(ReasonOf(s), "SENDER_TYPE_NOT_ALLOWED");
      }
    }
  }
}

// Test that a notification between reading the generation and waiting is not lost, and that
// waiting for an agency ignores other agencies' notifications.
TEST(DeliveryNotifier, WakesOnlyTheNotifiedInbox) {
  DeliveryNotifier n;
  const uint64_t g = n.Generation("police/a");
  n.Notify("reception_centre/b police/a");
  EXPECT_TRUE(n.WaitForChange("police/a", g, absl::ZeroDuration()));
  const uint64_t g2 = n.Generation("police/a");
  n.Notify("reception_centre/b");
  EXPECT_FALSE(n.WaitForChange("police/a", g2, absl::Milliseconds(10)));
  std::thread notifier([&] { n.Notify("police/a"); });
  EXPECT_TRUE(n.WaitForChange("police/a", g2, absl::Seconds(10)));
  notifier.join();
  const uint64_t g3 = n.Generation("magistrate/c");
  n.NotifyAll();
  EXPECT_TRUE(n.WaitForChange("magistrate/c", g3, absl::ZeroDuration()));
}

}  // namespace
}  // namespace concord::messaging
