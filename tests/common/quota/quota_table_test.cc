// Unit tests of the quota table: defaults, overrides (--quotas), the docs table, and the sizing
// argument of docs/operations.md "Sizing" replayed against the default buckets.
#include "common/quota/quota_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/field_violations.h"

namespace concord::quota {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

// Test that operational agencies and restricted ones get their profiles.
TEST(QuotaTable, DefaultsGiveOperationalAndRestrictedProfiles) {
  const QuotaTable t = QuotaTable::Defaults();
  EXPECT_EQ(t.Bucket(AgencyType::kPolice, Quota::kSend), (BucketSpec{20000, 5}));
  EXPECT_EQ(t.Bucket(AgencyType::kAdmin, Quota::kSend), (BucketSpec{20000, 5}));
  EXPECT_EQ(t.Bucket(AgencyType::kPlatform, Quota::kSend), (BucketSpec{2000, 1}));
  EXPECT_EQ(t.CapOf(AgencyType::kReceptionCentre, Cap::kStreams), 32);
  EXPECT_EQ(t.CapOf(AgencyType::kPlatform, Cap::kStreams), 8);
  for (AgencyType type : kAllAgencyTypes) {
    for (Quota q : kAllQuotas) {
      EXPECT_GE(t.Bucket(type, q).burst, MinimumBurst(q)) << QuotaName(q);
      EXPECT_GT(t.Bucket(type, q).per_second, 0) << QuotaName(q);
    }
    for (Cap c : kAllCaps) EXPECT_GT(t.CapOf(type, c), 0) << CapName(c);
  }
}

// Test that overrides apply per type and to every type with '*', later entries winning.
TEST(QuotaTable, OverridesApplyPerTypeAndForEveryType) {
  auto t = QuotaTable::Defaults().WithOverrides(
      " *.streams=4; police.send=100/0.5 ;police.streams=6;platform.upload_bytes=8388608/2048");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Bucket(AgencyType::kPolice, Quota::kSend), (BucketSpec{100, 0.5}));
  EXPECT_EQ(t->Bucket(AgencyType::kMagistrate, Quota::kSend), (BucketSpec{20000, 5}));
  EXPECT_EQ(t->CapOf(AgencyType::kPolice, Cap::kStreams), 6);
  EXPECT_EQ(t->CapOf(AgencyType::kMagistrate, Cap::kStreams), 4);
  EXPECT_EQ(t->Bucket(AgencyType::kPlatform, Quota::kUploadBytes), (BucketSpec{8 * kMiB, 2048}));
  EXPECT_TRUE(QuotaTable::Defaults().WithOverrides("").ok());
}

// Test that every malformed entry is refused on --quotas, naming the entry.
TEST(QuotaTable, RefusesMalformedOverrides) {
  for (const char* bad :
       {"police", "police.send", "pol.send=1/1", "police.sned=1/1", "police.send=10",
        "police.send=10/0", "police.send=10/-1", "police.send=0/1", "police.send_bytes=1024/1",
        "police.streams=0", "police.streams=x", "police.send=1e3/1", "police.send=10/abc"}) {
    auto t = QuotaTable::Defaults().WithOverrides(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    const auto v = FieldViolationsOf(t.status());
    ASSERT_EQ(v.size(), 1u) << bad;
    EXPECT_EQ(v[0].field, "--quotas");
    EXPECT_NE(v[0].description.find(bad), std::string::npos) << v[0].description;
  }
}

// Test that docs/operations.md carries the generated table of defaults.
TEST(QuotaTable, OperationsDocListsTheDefaults) {
  const std::filesystem::path doc =
      std::filesystem::path(CONCORD_SOURCE_DIR) / "docs/operations.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << "cannot read " << doc;
  std::stringstream text;
  text << in.rdbuf();
  const std::string md = QuotaTable::Defaults().Markdown();
  EXPECT_NE(text.str().find(md), std::string::npos)
      << doc << " is stale; replace the table between the quota-defaults markers with:\n"
      << md;
}

// ---- Sizing (docs/operations.md "Sizing"): the defaults against national traffic and a flood.

// The bucket of token_bucket.h, in C++, driven by a simulated clock.
class Bucket {
 public:
  explicit Bucket(BucketSpec spec) : spec_(spec), tokens_(static_cast<double>(spec.burst)) {}
  bool Take(double at_s, double cost) {
    tokens_ = std::min<double>(static_cast<double>(spec_.burst),
                               tokens_ + (at_s - last_s_) * spec_.per_second);
    last_s_ = at_s;
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

 private:
  BucketSpec spec_;
  double tokens_;
  double last_s_ = 0;
};

// `count` charges of `cost` spread evenly over `seconds`; returns how many passed.
int64_t Replay(const BucketSpec& spec, int64_t count, double seconds, double cost) {
  Bucket b(spec);
  int64_t passed = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (b.Take(seconds * static_cast<double>(i) / static_cast<double>(count), cost)) ++passed;
  }
  return passed;
}

// A pessimistic national peak day of the busiest operational agency (docs "Sizing"): 2,800
// messages of 20 KiB, 140 attachments of 4 MiB, 100 draft saves; 30 % of it in one hour.
TEST(QuotaSizing, NationalPeakOfTheBusiestAgencyIsNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type :
       {AgencyType::kPolice, AgencyType::kMagistrate, AgencyType::kReceptionCentre,
        AgencyType::kImmigrationOffice, AgencyType::kSocialInspection, AgencyType::kAdmin}) {
    struct Load {
      Quota quota;
      int64_t per_day;
      double cost;
    };
    for (const Load& l :
         {Load{Quota::kSend, 2800, 1}, Load{Quota::kSendBytes, 2800, 20 * 1024},
          Load{Quota::kUpload, 140, 1}, Load{Quota::kUploadBytes, 140 * 4, 1024.0 * 1024},
          Load{Quota::kDraft, 100, 1}}) {
      const BucketSpec& spec = t.Bucket(type, l.quota);
      const int64_t peak_hour = l.per_day * 3 / 10;
      EXPECT_EQ(Replay(spec, peak_hour, 3600, l.cost), peak_hour)
          << AgencyTypeName(type) << " " << QuotaName(l.quota) << ": peak hour refused";
      EXPECT_EQ(Replay(spec, l.per_day, 86400, l.cost), l.per_day)
          << AgencyTypeName(type) << " " << QuotaName(l.quota) << ": peak day refused";
    }
  }
}

// The standard benchmark (docs/performance.md) at the throughput target of 6,000 sends/s over 8
// agencies: 750 sends/s of ~1.6 KiB stored envelopes per agency for 2 s warm-up + 20 s.
TEST(QuotaSizing, StandardBenchmarkAtTheThroughputTargetIsNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  EXPECT_EQ(Replay(t.Bucket(AgencyType::kPolice, Quota::kSend), 750 * 22, 22, 1), 750 * 22);
  EXPECT_EQ(Replay(t.Bucket(AgencyType::kPolice, Quota::kSendBytes), 750 * 22, 22, 1640), 750 * 22);
}

// One agency flooding for 60 s at this machine's full speed (1,500 sends/s; 150 MiB/s of
// chunks): everything beyond the burst and a minute of refill is refused.
TEST(QuotaSizing, AFloodIsRefusedAfterTheBurst) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    const BucketSpec send = t.Bucket(type, Quota::kSend);
    const int64_t passed = Replay(send, 1500 * 60, 60, 1);
    EXPECT_LE(passed, send.burst + static_cast<int64_t>(send.per_second * 60) + 1);
    EXPECT_LT(passed, 1500 * 60 / 4) << AgencyTypeName(type) << ": a flood mostly passes";
    const BucketSpec up = t.Bucket(type, Quota::kUploadBytes);
    const int64_t chunks = Replay(up, 150 * 60, 60, 1024.0 * 1024);
    EXPECT_LE(chunks * kMiB, up.burst + static_cast<int64_t>(up.per_second * 60) + kMiB);
    EXPECT_LE(chunks * kMiB, 256 * kMiB) << AgencyTypeName(type);
  }
}

// The write calls of guidelines and liaison (docs "Sizing"): a guideline set of 30 versions
// republished in an hour (60 a day); 200 versions acknowledged from two terminals (400 in the
// peak hour, 1,000 a day); the largest platform's 3,000 moves a day, 30 % in one hour; 500 JIT
// shares a day. Never refused, for every agency type.
TEST(QuotaSizing, GuidelinesAndLiaisonPeaksAreNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  struct Load {
    Quota quota;
    int64_t peak_hour;
    int64_t per_day;
  };
  for (AgencyType type : kAllAgencyTypes) {
    for (const Load& l :
         {Load{Quota::kPublish, 30, 60}, Load{Quota::kAck, 400, 1000},
          Load{Quota::kLiaisonRequest, 900, 3000}, Load{Quota::kJitWrite, 150, 500}}) {
      const BucketSpec& spec = t.Bucket(type, l.quota);
      EXPECT_EQ(Replay(spec, l.peak_hour, 3600, 1), l.peak_hour)
          << AgencyTypeName(type) << " " << QuotaName(l.quota) << ": peak hour refused";
      EXPECT_EQ(Replay(spec, l.per_day, 86400, 1), l.per_day)
          << AgencyTypeName(type) << " " << QuotaName(l.quota) << ": peak day refused";
    }
  }
}

// The guidelines benchmark at its largest (--rounds 20): one publication a round by the
// coordination unit, one acknowledgement a round by each police agency, within a few seconds.
TEST(QuotaSizing, GuidelinesBenchmarkIsNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  EXPECT_EQ(Replay(t.Bucket(AgencyType::kCoordinationUnit, Quota::kPublish), 20, 20, 1), 20);
  EXPECT_EQ(Replay(t.Bucket(AgencyType::kPolice, Quota::kAck), 20, 20, 1), 20);
}

// One agency flooding a write call of guidelines or liaison for 60 s (1,500 calls/s; 200
// publications/s): at most the burst and a minute of refill passes, and most is refused.
TEST(QuotaSizing, AGuidelinesOrLiaisonFloodIsRefusedAfterTheBurst) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    for (Quota q : {Quota::kPublish, Quota::kAck, Quota::kLiaisonRequest, Quota::kJitWrite}) {
      const int64_t rate = q == Quota::kPublish ? 200 : 1500;
      const BucketSpec spec = t.Bucket(type, q);
      const int64_t passed = Replay(spec, rate * 60, 60, 1);
      EXPECT_LE(passed, spec.burst + static_cast<int64_t>(spec.per_second * 60) + 1)
          << AgencyTypeName(type) << " " << QuotaName(q);
      EXPECT_LT(passed, rate * 60 / 50) << AgencyTypeName(type) << " " << QuotaName(q);
    }
  }
}

// Test that the buckets of guidelines and liaison are named and overridden like the others.
TEST(QuotaTable, GuidelinesAndLiaisonBucketsAreOverridable) {
  auto t = QuotaTable::Defaults().WithOverrides(
      "coordination_unit.publish=10/0.5;*.ack=100/1;platform.liaison_request=50/0.1;"
      "foreign_partner.jit_write=20/0.2");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Bucket(AgencyType::kCoordinationUnit, Quota::kPublish), (BucketSpec{10, 0.5}));
  EXPECT_EQ(t->Bucket(AgencyType::kPolice, Quota::kAck), (BucketSpec{100, 1}));
  EXPECT_EQ(t->Bucket(AgencyType::kPlatform, Quota::kLiaisonRequest), (BucketSpec{50, 0.1}));
  EXPECT_EQ(t->Bucket(AgencyType::kForeignPartner, Quota::kJitWrite), (BucketSpec{20, 0.2}));
  for (std::string_view name : {"publish", "ack", "liaison_request", "jit_write"}) {
    ASSERT_TRUE(ParseQuota(name).has_value()) << name;
    EXPECT_EQ(QuotaName(*ParseQuota(name)), name);
    EXPECT_FALSE(IsByteQuota(*ParseQuota(name)));
  }
  EXPECT_FALSE(QuotaTable::Defaults().WithOverrides("police.ack=0/1").ok());
}

// ---- Messaging acknowledgements (docs/operations.md "Sizing"): the msg_ack bucket, one token
// per id of an Ack, whatever its outcome.

// Test that msg_ack is a bucket of its own (guidelines' `ack` is another), overridable, and that
// its burst may never be smaller than one full Ack (500 ids: it could never pass).
TEST(QuotaTable, MessagingAckBucketIsNamedOverridableAndHoldsAFullAck) {
  ASSERT_TRUE(ParseQuota("msg_ack").has_value());
  EXPECT_EQ(*ParseQuota("msg_ack"), Quota::kMsgAck);
  EXPECT_NE(Quota::kMsgAck, Quota::kAck);
  EXPECT_FALSE(IsByteQuota(Quota::kMsgAck));
  EXPECT_EQ(MinimumBurst(Quota::kMsgAck), 500);
  const QuotaTable d = QuotaTable::Defaults();
  EXPECT_EQ(d.Bucket(AgencyType::kPolice, Quota::kMsgAck), (BucketSpec{100000, 100}));
  EXPECT_EQ(d.Bucket(AgencyType::kPlatform, Quota::kMsgAck), (BucketSpec{20000, 20}));
  auto t = d.WithOverrides("*.msg_ack=500/1;police.msg_ack=2000/5");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Bucket(AgencyType::kPolice, Quota::kMsgAck), (BucketSpec{2000, 5}));
  EXPECT_EQ(t->Bucket(AgencyType::kMagistrate, Quota::kMsgAck), (BucketSpec{500, 1}));
  EXPECT_EQ(t->Bucket(AgencyType::kPolice, Quota::kAck),
            d.Bucket(AgencyType::kPolice, Quota::kAck));
  auto small = d.WithOverrides("police.msg_ack=499/1");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(FieldViolationsOf(small.status())[0].description.find("500"), std::string::npos);
}

// ---- Consultations: the read bucket, one token per consultation record a read writes.

// Test that `read` is a bucket of its own, sized as the send bucket for operational agencies and
// smaller for restricted ones, overridable, and never smaller than a referrals List of a full
// page (500 cases, 500 records, charged at once: it could never pass).
TEST(QuotaTable, ReadBucketIsNamedOverridableAndHoldsAFullListPage) {
  ASSERT_TRUE(ParseQuota("read").has_value());
  EXPECT_EQ(*ParseQuota("read"), Quota::kRead);
  EXPECT_EQ(QuotaName(Quota::kRead), "read");
  EXPECT_FALSE(IsByteQuota(Quota::kRead));
  EXPECT_EQ(MinimumBurst(Quota::kRead), 500);
  const QuotaTable d = QuotaTable::Defaults();
  EXPECT_EQ(d.Bucket(AgencyType::kPolice, Quota::kRead), (BucketSpec{20000, 5}));
  EXPECT_EQ(d.Bucket(AgencyType::kReceptionCentre, Quota::kRead), (BucketSpec{20000, 5}));
  EXPECT_EQ(d.Bucket(AgencyType::kPlatform, Quota::kRead), (BucketSpec{2000, 1}));
  EXPECT_EQ(d.Bucket(AgencyType::kForeignPartner, Quota::kRead), (BucketSpec{2000, 1}));
  auto t = d.WithOverrides("*.read=1000/2;police.read=50000/20");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Bucket(AgencyType::kPolice, Quota::kRead), (BucketSpec{50000, 20}));
  EXPECT_EQ(t->Bucket(AgencyType::kMagistrate, Quota::kRead), (BucketSpec{1000, 2}));
  auto small = d.WithOverrides("police.read=499/1");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(FieldViolationsOf(small.status())[0].description.find("500"), std::string::npos);
}

// Test that the audit log's bounds are in the table: the `checkpoint` bucket (CreateCheckpoint)
// and the `verifications` cap (Verify and CreateCheckpoint running per agency on a replica), by
// name, with their defaults for every type, and overridable.
TEST(QuotaTable, AuditCheckpointBucketAndVerificationsCapAreNamedAndOverridable) {
  ASSERT_TRUE(ParseQuota("checkpoint").has_value());
  EXPECT_EQ(*ParseQuota("checkpoint"), Quota::kCheckpoint);
  EXPECT_EQ(QuotaName(Quota::kCheckpoint), "checkpoint");
  EXPECT_EQ(MinimumBurst(Quota::kCheckpoint), 1);
  ASSERT_TRUE(ParseCap("verifications").has_value());
  EXPECT_EQ(*ParseCap("verifications"), Cap::kVerifications);
  EXPECT_EQ(CapName(Cap::kVerifications), "verifications");
  const QuotaTable d = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    EXPECT_EQ(d.Bucket(type, Quota::kCheckpoint), (BucketSpec{10, 0.01})) << AgencyTypeName(type);
    EXPECT_EQ(d.CapOf(type, Cap::kVerifications), 1) << AgencyTypeName(type);
  }
  auto t = d.WithOverrides("admin.checkpoint=100/0.1;coordination_unit.verifications=2");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Bucket(AgencyType::kAdmin, Quota::kCheckpoint), (BucketSpec{100, 0.1}));
  EXPECT_EQ(t->CapOf(AgencyType::kCoordinationUnit, Cap::kVerifications), 2);
  EXPECT_EQ(t->CapOf(AgencyType::kAdmin, Cap::kVerifications), 1);
}

// An agency acknowledges what its inbox receives. The standard benchmark at the throughput target
// (6,000 sends/s, 3 recipients of 8 agencies): each agency receives and acknowledges 2,250
// messages/s for 22 s, in batches of up to 256 ids (concord-bench) or one at a time (concordctl
// message watch). The busiest agency's pessimistic national day as a recipient: ten times the
// busiest sender's (28,000 a day, 30 % in one hour), and a terminal back after a week offline
// acknowledging the week (196,000 ids) within a day. Never refused.
TEST(QuotaSizing, MessagingAcknowledgementsOfEverythingReceivedAreNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type :
       {AgencyType::kPolice, AgencyType::kMagistrate, AgencyType::kReceptionCentre,
        AgencyType::kImmigrationOffice, AgencyType::kSocialInspection}) {
    const BucketSpec& spec = t.Bucket(type, Quota::kMsgAck);
    EXPECT_EQ(Replay(spec, 2250 * 22 / 256, 22, 256), 2250 * 22 / 256) << AgencyTypeName(type);
    EXPECT_EQ(Replay(spec, 2250 * 22, 22, 1), 2250 * 22) << AgencyTypeName(type);
    EXPECT_EQ(Replay(spec, 8400, 3600, 1), 8400) << AgencyTypeName(type);
    EXPECT_EQ(Replay(spec, 28000, 86400, 1), 28000) << AgencyTypeName(type);
    EXPECT_EQ(Replay(spec, 196000 / 500, 86400, 500), 196000 / 500) << AgencyTypeName(type);
  }
  // The largest platform: 1,000 orders a day from every police zone, 30 % in one hour.
  const BucketSpec& platform = t.Bucket(AgencyType::kPlatform, Quota::kMsgAck);
  EXPECT_EQ(Replay(platform, 300, 3600, 1), 300);
  EXPECT_EQ(Replay(platform, 1000, 86400, 1), 1000);
}

// One agency (a stolen key) flooding Ack at this machine's speed (1,500 calls/s) for 60 s with
// 500 ids a call, and for 10 minutes with one id a call: at most the burst and the refill pass
// (each id that passes is at most one audit record: an Ack refused as a whole is one record, a
// refusal by the bucket one a minute), and most of the flood is refused.
TEST(QuotaSizing, AMessagingAckFloodIsRefusedAfterTheBurst) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    const BucketSpec spec = t.Bucket(type, Quota::kMsgAck);
    const int64_t calls = Replay(spec, 1500 * 60, 60, 500);
    EXPECT_LE(calls * 500, spec.burst + static_cast<int64_t>(spec.per_second * 60) + 500)
        << AgencyTypeName(type);
    EXPECT_LT(calls, 1500 * 60 / 100) << AgencyTypeName(type);
    // One id per call: each call is one record; the bucket still bounds them, and a flood that
    // goes on gets the refill alone (100/s) after the burst.
    const int64_t single = Replay(spec, 1500 * 600, 600, 1);
    EXPECT_LE(single, spec.burst + static_cast<int64_t>(spec.per_second * 600) + 1)
        << AgencyTypeName(type);
    EXPECT_LT(single, 1500 * 600 / 4) << AgencyTypeName(type);
  }
}

// Consultations (docs/operations.md "Sizing"): the busiest operational agency's day is an
// integration polling its inbox every 10 s (8,640 reads), 40 case workers reading 300 cases,
// messages and requests each (12,000), and 800 referral Lists of 50 cases (40,000 tokens: one
// per case returned), 30 % in one hour; a platform or partner polls every 10 s and reads a
// thousand items (10,000). Never refused.
TEST(QuotaSizing, ConsultationsOfTheBusiestAgencyAreNeverRefused) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    const BucketSpec& spec = t.Bucket(type, Quota::kRead);
    const bool restricted = type == AgencyType::kPlatform || type == AgencyType::kForeignPartner ||
                            type == AgencyType::kCoordinationUnit;
    const int64_t per_day = restricted ? 10000 : 8640 + 12000 + 40000;
    const int64_t peak_hour = per_day * 3 / 10;
    EXPECT_EQ(Replay(spec, peak_hour, 3600, 1), peak_hour) << AgencyTypeName(type);
    EXPECT_EQ(Replay(spec, per_day, 86400, 1), per_day) << AgencyTypeName(type);
  }
}

// A consultation flood (one stolen key at 1,500 calls/s, each writing a consultation record) gets
// at most the burst and the refill through: 20,300 records in the first minute (it was unbounded),
// then 300 a minute; restricted types 2,060, then 60 a minute.
TEST(QuotaSizing, AConsultationFloodIsRefusedAfterTheBurst) {
  const QuotaTable t = QuotaTable::Defaults();
  for (AgencyType type : kAllAgencyTypes) {
    const BucketSpec spec = t.Bucket(type, Quota::kRead);
    const int64_t minute = Replay(spec, 1500 * 60, 60, 1);
    EXPECT_LE(minute, spec.burst + static_cast<int64_t>(spec.per_second * 60) + 1)
        << AgencyTypeName(type);
    EXPECT_LE(minute, 20300) << AgencyTypeName(type);
    const int64_t ten_minutes = Replay(spec, 1500 * 600, 600, 1);
    EXPECT_LE(ten_minutes, spec.burst + static_cast<int64_t>(spec.per_second * 600) + 1)
        << AgencyTypeName(type);
  }
}

}  // namespace
}  // namespace concord::quota
