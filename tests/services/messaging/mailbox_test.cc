#include "services/messaging/mailbox.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <thread>

#include "client/messaging/message_crypto.h"
#include "services/messaging/delivery_notifier.h"
#include "services/messaging/envelope_proto.h"
#include "tests/support/fake_clock.h"

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

// ---------------------------------------------------------------------------------------------
// The send path in two steps: PrepareSend checks and verifies (reads only) and returns the write
// plan; Commit hands the plan to the store. Fakes: the store records writes, the directory
// serves fixed keys.

class RecordingStore final : public MessageStore {
 public:
  std::vector<SendPlan> sends;
  StatusOr<SendResult> Send(const AgencyId& sender, const Envelope& envelope,
                            absl::Time accepted_at) override {
    sends.push_back(SendPlan{sender, envelope, accepted_at, {}});
    return SendResult{envelope.message_id, "sha", accepted_at, false};
  }
  StatusOr<StoredMessage> Get(const std::string&) override { return absl::NotFoundError("none"); }
  StatusOr<std::vector<InboxDelivery>> Deliver(const AgencyId&, const std::string&, size_t,
                                               absl::Duration, bool, size_t) override {
    return std::vector<InboxDelivery>{};
  }
  std::vector<AckPlan> acks;
  StatusOr<uint32_t> Ack(const AgencyId& recipient, const std::vector<std::string>& ids,
                         absl::Time at) override {
    acks.push_back(AckPlan{recipient, ids, at, {}});
    return static_cast<uint32_t>(ids.size());
  }
  StatusOr<InboxPage> ListInbox(const AgencyId&, const InboxQuery&) override { return InboxPage{}; }
  StatusOr<bool> IsAcknowledged(const AgencyId&, const std::string&) override { return false; }
  StatusOr<bool> InInbox(const AgencyId&, const std::string&) override { return false; }
  Status AddReceipt(const Receipt&) override { return absl::OkStatus(); }
  StatusOr<std::vector<Receipt>> ListReceipts(const std::string&) override {
    return std::vector<Receipt>{};
  }
  Status BeginAttachment(const std::string&, const AgencyId&, uint64_t) override {
    return absl::OkStatus();
  }
  Status PutChunk(const std::string&, const AgencyId&, uint32_t, const std::string&) override {
    return absl::OkStatus();
  }
  Status CompleteAttachment(const std::string&, uint32_t) override { return absl::OkStatus(); }
  Status AbortAttachment(const std::string&, const AgencyId&, uint32_t) override {
    return absl::OkStatus();
  }
  StatusOr<AttachmentInfo> GetAttachment(const std::string&) override {
    return absl::NotFoundError("none");
  }
  StatusOr<std::string> GetChunk(const std::string&, uint32_t) override {
    return absl::NotFoundError("none");
  }
  StatusOr<std::vector<ExpiredMessage>> RemoveExpired(absl::Time, size_t) override {
    return std::vector<ExpiredMessage>{};
  }
  StatusOr<int64_t> Backlog() override { return 0; }
};

class FixedKeys final : public AgencyKeys {
 public:
  std::map<std::string, AgencyKeyRecord> records;
  StatusOr<AgencyKeyRecord> Lookup(const AgencyId& agency) override {
    auto it = records.find(agency.Key());
    if (it == records.end()) return absl::NotFoundError("not registered");
    return it->second;
  }
};

class NoRevocations final : public authz::RevocationView {
 public:
  bool IsSuspended(const AgencyId&) const override { return false; }
  bool IsSerialRevoked(std::string_view) const override { return false; }
};

using AgencyProto = ::concord::common::v1::AgencyId;

class SendPlanTest : public ::testing::Test {
 protected:
  static constexpr const char* kDomain = "concord.test";

  SendPlanTest()
      : sender_key_(crypto::Ed25519PrivateKey::Generate()),
        sender_seal_(crypto::X25519PrivateKey::Generate()),
        recipient_seal_(crypto::X25519PrivateKey::Generate()),
        mailbox_(store_, keys_, revocations_, clock_, Options()) {
    sender_ = AgencyId{kDomain, AgencyType::kPolice, "pz-a"};
    recipient_ = AgencyId{kDomain, AgencyType::kMagistrate, "parquet-b"};
    keys_.records.insert_or_assign(sender_.Key(), AgencyKeyRecord{sender_key_.PublicKey(), true});
    keys_.records.insert_or_assign(
        recipient_.Key(), AgencyKeyRecord{crypto::Ed25519PrivateKey::Generate().PublicKey(), true});
  }

  static MailboxOptions Options() {
    MailboxOptions o;
    o.trust_domain = kDomain;
    return o;
  }

  Envelope Signed(const AgencyId& to) {
    client::SenderIdentity me{{}, sender_key_, sender_seal_};
    AgencyToProto(sender_, me.agency);
    client::MessageDraft draft;
    draft.message_id = "plan-message-0000001";
    AgencyProto to_proto;
    AgencyToProto(to, to_proto);
    draft.recipients.push_back(client::Recipient{to_proto, recipient_seal_.PublicKey()});
    draft.time_to_live = absl::Hours(1);
    draft.body = "body";
    auto proto = client::BuildEnvelope(me, draft, clock_.Now());
    EXPECT_TRUE(proto.ok()) << proto.status();
    auto env = EnvelopeFromProto(*proto);
    EXPECT_TRUE(env.ok()) << env.status();
    return *env;
  }

  crypto::Ed25519PrivateKey sender_key_;
  crypto::X25519PrivateKey sender_seal_, recipient_seal_;
  AgencyId sender_, recipient_;
  RecordingStore store_;
  FixedKeys keys_;
  NoRevocations revocations_;
  concord::testing::FakeClock clock_;
  Mailbox mailbox_;
};

TEST_F(SendPlanTest, PrepareChecksAndVerifiesWithoutWriting) {
  Envelope env = Signed(recipient_);
  env.sender = AgencyId{};  // empty: the caller
  auto plan = mailbox_.PrepareSend(sender_, env);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(store_.sends.empty());
  EXPECT_EQ(plan->sender, sender_);
  EXPECT_EQ(plan->envelope.sender, sender_);
  EXPECT_EQ(plan->envelope.message_id, "plan-message-0000001");
  EXPECT_EQ(plan->accepted_at, clock_.Now());

  auto result = mailbox_.Commit(*plan);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(store_.sends.size(), 1u);
  EXPECT_EQ(store_.sends[0].sender, sender_);
  EXPECT_EQ(store_.sends[0].envelope.message_id, "plan-message-0000001");
  EXPECT_EQ(store_.sends[0].accepted_at, clock_.Now());
}

TEST_F(SendPlanTest, PrepareRefusesABadSignatureAndWritesNothing) {
  Envelope env = Signed(recipient_);
  env.signature[0] = static_cast<char>(env.signature[0] ^ 1);
  auto plan = mailbox_.PrepareSend(sender_, env);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(plan.status()), "BAD_SIGNATURE");
  EXPECT_TRUE(store_.sends.empty());
}

TEST_F(SendPlanTest, PrepareRefusesAnUnknownRecipientAndAnotherSender) {
  auto plan = mailbox_.PrepareSend(sender_, Signed(AgencyId{kDomain, AgencyType::kPolice, "none"}));
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(plan.status()), "UNKNOWN_RECIPIENT");
  auto other = mailbox_.PrepareSend(recipient_, Signed(recipient_));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(other.status()), "SENDER_MISMATCH");
  EXPECT_TRUE(store_.sends.empty());
}

TEST_F(SendPlanTest, SendIsPrepareThenCommit) {
  auto result = mailbox_.Send(sender_, Signed(recipient_));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(store_.sends.size(), 1u);
  EXPECT_EQ(result->message_id, "plan-message-0000001");
}

// The ack path in two steps, as the send path: PrepareAck (no I/O), then CommitAckAsync.
using AckPlanTest = SendPlanTest;

// Test that PrepareAck checks an Ack without any I/O (nothing reaches the store): 1..500 ids,
// each well-formed, every bad field named; a valid request gives the plan (the caller's own
// inbox, the ids in order, the clock's time), which CommitAckAsync hands to the store as is.
TEST_F(AckPlanTest, PrepareAckChecksTheIdsWithoutIoAndCommitHandsThePlanToTheStore) {
  // Every violation as "<field>: <description>".
  auto violations = [](const Status& s) {
    std::vector<std::string> out;
    for (const FieldViolation& v : FieldViolationsOf(s))
      out.push_back(v.field + ": " + v.description);
    return out;
  };
  auto none = mailbox_.PrepareAck(recipient_, {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(violations(none.status()), std::vector<std::string>{"message_ids: 1..500 ids"});
  auto too_many =
      mailbox_.PrepareAck(recipient_, std::vector<std::string>(501, "message-00000001"));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(violations(too_many.status()), std::vector<std::string>{"message_ids: 1..500 ids"});
  auto malformed = mailbox_.PrepareAck(
      recipient_, {"message-00000001", "message 00000002", "short", "message-00000004"});
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(violations(malformed.status()),
            (std::vector<std::string>{"message_ids[1]: malformed", "message_ids[2]: malformed"}));
  EXPECT_TRUE(store_.acks.empty());

  auto full = mailbox_.PrepareAck(recipient_, std::vector<std::string>(500, "message-00000001"));
  ASSERT_TRUE(full.ok()) << full.status();
  auto plan = mailbox_.PrepareAck(recipient_, {"message-00000002", "message-00000001"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->recipient, recipient_);
  EXPECT_EQ(plan->message_ids, (std::vector<std::string>{"message-00000002", "message-00000001"}));
  EXPECT_EQ(plan->at, clock_.Now());
  EXPECT_TRUE(store_.acks.empty());  // prepared, nothing written

  std::optional<StatusOr<uint32_t>> acked;
  mailbox_.CommitAckAsync(*plan, [&acked](StatusOr<uint32_t> r) { acked = std::move(r); });
  ASSERT_TRUE(acked.has_value());  // the fake store's default AckAsync: Ack, inline
  ASSERT_TRUE(acked->ok()) << acked->status();
  EXPECT_EQ(**acked, 2u);
  ASSERT_EQ(store_.acks.size(), 1u);
  EXPECT_EQ(store_.acks[0].recipient, recipient_);
  EXPECT_EQ(store_.acks[0].message_ids, plan->message_ids);
  EXPECT_EQ(store_.acks[0].at, clock_.Now());
}

}  // namespace
}  // namespace concord::messaging
