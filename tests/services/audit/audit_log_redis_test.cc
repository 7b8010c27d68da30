// The audit domain over a real redis-server: records appended by a workload's IntakeAuditSink
// (as the messaging ACL user) and chained by the AuditIngester (as the audit ACL user, this
// test's default), read, queried, verified and checkpointed through RedisAuditStore; tampering
// done directly in Redis (HSET, HDEL, swap, truncation; with the test-only admin user) is
// reported at exactly the tampered seq.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"
#include "services/audit/checkpointer.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"

namespace concord::audit {
namespace {

using ::concord::testing::FakeClock;
using ::concord::testing::RedisServer;
using ::testing::HasSubstr;

class AuditLogRedisTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
    workload_redis_ = redis::RedisClient::Create(server_->config("messaging"));
    admin_ = redis::RedisClient::Create(server_->admin_config());
    sink_ = std::make_unique<IntakeAuditSink>(*workload_redis_, key_, clock_, "messaging");
    store_ = std::make_unique<RedisAuditStore>(*redis_);
    log_ = std::make_unique<AuditLog>(*store_, key_, signing_key_, clock_);
    ingester_ = std::make_unique<AuditIngester>(
        *store_, key_, clock_, nullptr,
        IngesterOptions{.workloads = {"directory", "audit", "messaging", "referrals"},
                        .trust_domain = "concord.test",
                        .batch = 256,
                        .poll_interval = absl::Milliseconds(500)});
  }

  // Appends n records; record i is about "case:<i % 3>" by police/pz-<i % 2>, one second apart.
  void Append(int n) {
    for (int i = 1; i <= n; ++i) {
      clock_.Advance(absl::Seconds(1));
      AuditEvent e;
      e.agency.trust_domain = "concord.test";
      e.agency.type = AgencyType::kPolice;
      e.agency.id = "pz-" + std::to_string(i % 2);
      e.officer = "officer-" + std::to_string(i);
      e.operation = Operation::kConsultation;
      e.object = "case:" + std::to_string(i % 3);
      e.method = "/concord.test.v1.Test/Get";
      e.justification = "investigation";
      e.outcome = "OK";
      e.time = clock_.Now();
      ASSERT_TRUE(sink_->Append(e).ok());
    }
    auto chained = ingester_->IngestPending();
    ASSERT_TRUE(chained.ok()) << chained.status();
  }

  std::string Get(uint64_t seq) {
    auto r = redis_->Command({"HGET", RecordsKey(), std::to_string(seq)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->str : "";
  }
  void Set(uint64_t seq, const std::string& value) {
    ASSERT_TRUE(admin_->Command({"HSET", RecordsKey(), std::to_string(seq), value}).ok());
  }

  VerifyResult VerifyAll() {
    auto report = log_->Verify(0, 0);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? report->result : VerifyResult{};
  }

  AuditKey key_ = *AuditKey::FromBytes(std::string(32, 'z'));
  crypto::Ed25519PrivateKey signing_key_ = crypto::Ed25519PrivateKey::Generate();
  FakeClock clock_;
  std::unique_ptr<redis::RedisClient> workload_redis_;
  std::unique_ptr<redis::RedisClient> admin_;  // tampering: no workload may do it
  std::unique_ptr<IntakeAuditSink> sink_;
  std::unique_ptr<AuditIngester> ingester_;
  std::unique_ptr<RedisAuditStore> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogRedisTest, IntactLogVerifies) {
  Append(12);
  auto report = log_->Verify(0, 0);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->result.ok) << report->result.reason;
  EXPECT_EQ(report->result.records_checked, 12u);
  EXPECT_EQ(report->from_seq, 1u);
  EXPECT_EQ(report->to_seq, 12u);
  EXPECT_EQ(report->head_seq, 12u);
}

TEST_F(AuditLogRedisTest, EmptyLogVerifies) {
  const VerifyResult r = VerifyAll();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records_checked, 0u);
}

TEST_F(AuditLogRedisTest, AlteredRecordInRedisFailsAtThatSeq) {
  Append(10);
  std::string v = Get(5);
  v[v.size() - 3] ^= 0x40;
  Set(5, v);
  const VerifyResult r = VerifyAll();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
  EXPECT_EQ(r.records_checked, 4u);
}

TEST_F(AuditLogRedisTest, DeletedRecordInRedisFailsAtThatSeq) {
  Append(10);
  ASSERT_TRUE(admin_->Command({"HDEL", RecordsKey(), "4"}).ok());
  const VerifyResult r = VerifyAll();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4u);
  EXPECT_THAT(r.reason, HasSubstr("missing"));
}

TEST_F(AuditLogRedisTest, SwappedRecordsInRedisFailAtTheFirstOfThePair) {
  Append(10);
  const std::string v3 = Get(3);
  const std::string v7 = Get(7);
  Set(3, v7);
  Set(7, v3);
  const VerifyResult r = VerifyAll();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3u);
}

TEST_F(AuditLogRedisTest, TruncationBelowACheckpointFailsAtTheFirstRemovedSeq) {
  Append(10);
  auto cp = log_->CreateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->seq, 10u);
  // Remove 8..10 and rewind the head to 7 consistently.
  const auto seven = *StoredRecord::Parse(Get(7));
  ASSERT_TRUE(admin_->Command({"HDEL", RecordsKey(), "8", "9", "10"}).ok());
  ASSERT_TRUE(admin_->Command({"HSET", HeadKey(), "seq", "7", "hash", seven.hash}).ok());
  const VerifyResult r = VerifyAll();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 8u);
  EXPECT_THAT(r.reason, HasSubstr("truncated"));
}

TEST_F(AuditLogRedisTest, RewoundHeadWithRecordsLeftInPlaceFailsAfterTheHead) {
  Append(6);
  const auto four = *StoredRecord::Parse(Get(4));
  ASSERT_TRUE(admin_->Command({"HSET", HeadKey(), "seq", "4", "hash", four.hash}).ok());
  const VerifyResult r = VerifyAll();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
}

TEST_F(AuditLogRedisTest, RangeVerifyAndRangeBeyondHead) {
  Append(10);
  auto part = log_->Verify(3, 6);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(part->result.ok) << part->result.reason;
  EXPECT_EQ(part->result.records_checked, 4u);
  auto beyond = log_->Verify(1, 15);
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->result.ok);
  EXPECT_EQ(beyond->result.first_bad_seq, 11u);
  EXPECT_EQ(log_->Verify(6, 3).status().code(), absl::StatusCode::kInvalidArgument);
}

// Test that Verify tells its `admit` hook how many records the range will read before reading
// any (the range clipped to the head), ends with the hook's refusal, and stops with CANCELLED
// when `cancelled` says so between batches: bounds the Audit service puts on the call.
TEST_F(AuditLogRedisTest, VerifyHooksAdmitTheRangeAndCancelBetweenBatches) {
  Append(10);
  std::vector<uint64_t> asked;
  VerifyHooks count{.admit =
                        [&](uint64_t records) {
                          asked.push_back(records);
                          return absl::OkStatus();
                        },
                    .cancelled = nullptr};
  ASSERT_TRUE(log_->Verify(0, 0, count).ok());
  ASSERT_TRUE(log_->Verify(3, 6, count).ok());
  ASSERT_TRUE(log_->Verify(8, 40, count).ok());  // beyond the head: reads 8..10
  EXPECT_THAT(asked, ::testing::ElementsAre(10u, 4u, 3u));

  int polled = 0;
  VerifyHooks refuse{.admit = [](uint64_t) { return absl::ResourceExhaustedError("no tokens"); },
                     .cancelled = [&] { return ++polled > 0; }};
  EXPECT_EQ(log_->Verify(0, 0, refuse).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(polled, 0);  // refused before the first batch

  VerifyHooks cancel{.admit = nullptr, .cancelled = [&] { return ++polled > 0; }};
  auto cancelled = log_->Verify(0, 0, cancel);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(cancelled.status().message(), HasSubstr("after 0 of 10 records"));
  EXPECT_EQ(polled, 1);
}

// Test that the verification inside CreateCheckpoint stops when its call is cancelled, and that
// nothing is signed then; the same log checkpoints once the call is not cancelled.
TEST_F(AuditLogRedisTest, CreateCheckpointStopsWhenCancelledAndSignsNothing) {
  Append(10);
  int polled = 0;
  VerifyHooks cancel{.admit = nullptr, .cancelled = [&] { return ++polled > 0; }};
  auto cancelled = log_->CreateCheckpoint(cancel);
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_EQ(polled, 1);
  auto latest = log_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_FALSE(latest->has_value());
  auto cp = log_->CreateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->seq, 10u);
}

TEST_F(AuditLogRedisTest, QueryByObjectPagesNewestFirst) {
  Append(30);  // case:0 has seqs 3, 6, ..., 30
  QuerySpec spec;
  spec.kind = QuerySpec::Kind::kObject;
  spec.object = "case:0";
  spec.page_size = 4;
  std::vector<uint64_t> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = log_->Query(spec);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const DecodedRecord& r : page->records) {
      EXPECT_EQ(r.event.object, "case:0");
      EXPECT_EQ(r.event.justification, "investigation");
      seen.push_back(r.seq);
    }
    if (page->next_before_seq == 0) break;
    spec.before_seq = page->next_before_seq;
  }
  EXPECT_THAT(seen, ::testing::ElementsAre(30, 27, 24, 21, 18, 15, 12, 9, 6, 3));
}

TEST_F(AuditLogRedisTest, QueryByAgencyWithTimeRange) {
  Append(20);
  // Record i has time start + i seconds; police/pz-1 wrote the odd seqs.
  const absl::Time start = clock_.Now() - absl::Seconds(20);
  QuerySpec spec;
  spec.kind = QuerySpec::Kind::kAgency;
  spec.agency = {"concord.test", AgencyType::kPolice, "pz-1"};
  spec.from = start + absl::Seconds(5);
  spec.to = start + absl::Seconds(11);
  auto page = log_->Query(spec);
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<uint64_t> seqs;
  for (const auto& r : page->records) seqs.push_back(r.seq);
  EXPECT_THAT(seqs, ::testing::ElementsAre(11, 9, 7, 5));
  EXPECT_EQ(page->next_before_seq, 0u);
}

TEST_F(AuditLogRedisTest, QueryWholeLogAndUnknownObject) {
  Append(5);
  QuerySpec all;
  all.page_size = 3;
  auto first = log_->Query(all);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->records.size(), 3u);
  EXPECT_EQ(first->records[0].seq, 5u);
  EXPECT_EQ(first->next_before_seq, 3u);
  all.before_seq = first->next_before_seq;
  auto second = log_->Query(all);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->records.size(), 2u);
  EXPECT_EQ(second->records[1].seq, 1u);
  EXPECT_EQ(second->next_before_seq, 0u);

  QuerySpec none;
  none.kind = QuerySpec::Kind::kObject;
  none.object = "case:nope";
  auto empty = log_->Query(none);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
  EXPECT_EQ(empty->next_before_seq, 0u);
}

TEST_F(AuditLogRedisTest, QueryOverATamperedRecordIsDataLoss) {
  Append(3);
  std::string v = Get(2);
  v.back() ^= 1;
  Set(2, v);
  QuerySpec all;
  EXPECT_EQ(log_->Query(all).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AuditLogRedisTest, CheckpointsAreSignedIdempotentAndRefusedOnTamperedLogs) {
  EXPECT_EQ(log_->CreateCheckpoint().status().code(), absl::StatusCode::kFailedPrecondition);
  Append(4);
  auto cp = log_->CreateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->seq, 4u);
  EXPECT_TRUE(VerifyCheckpointSignature(signing_key_.PublicKey(), *cp));
  auto again = log_->CreateCheckpoint();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *cp);
  auto latest = log_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ(**latest, *cp);

  Append(3);
  std::string v = Get(6);
  v.back() ^= 1;
  Set(6, v);
  auto refused = log_->CreateCheckpoint();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("seq 6"));
}

TEST_F(AuditLogRedisTest, CheckpointerSignsWhenDue) {
  CheckpointerOptions options;
  options.interval = absl::Seconds(60);
  options.every_records = 5;
  Checkpointer checkpointer(*log_, options);
  EXPECT_FALSE(*checkpointer.RunOnce());  // empty log
  Append(1);
  EXPECT_TRUE(*checkpointer.RunOnce());   // first checkpoint at once
  EXPECT_FALSE(*checkpointer.RunOnce());  // nothing new
  Append(2);
  EXPECT_FALSE(*checkpointer.RunOnce());  // 2 new records, 2 s old: not due
  Append(3);
  EXPECT_TRUE(*checkpointer.RunOnce());  // 5 new records
  Append(1);
  clock_.Advance(absl::Seconds(61));
  EXPECT_TRUE(*checkpointer.RunOnce());  // interval elapsed
  auto latest = log_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->seq, 7u);
  EXPECT_TRUE(VerifyAll().ok);
  EXPECT_EQ(VerifyAll().checkpoints_checked, 3u);
}

TEST_F(AuditLogRedisTest, CheckpointerThreadRunsAndStopsPromptly) {
  Append(3);
  CheckpointerOptions options;
  options.interval = absl::Hours(1);
  options.poll_interval = absl::Milliseconds(20);
  Checkpointer checkpointer(*log_, options);
  checkpointer.Start();
  bool created = false;
  for (int i = 0; i < 250 && !created; ++i) {  // bounded polling, up to ~5 s
    auto latest = log_->LatestCheckpoint();
    created = latest.ok() && latest->has_value();
    if (!created) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(created);
  const auto t0 = std::chrono::steady_clock::now();
  checkpointer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));

  // A long poll interval does not delay Stop().
  CheckpointerOptions slow;
  slow.poll_interval = absl::Hours(1);
  Checkpointer idle(*log_, slow);
  idle.Start();
  const auto t1 = std::chrono::steady_clock::now();
  idle.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(1));
}

}  // namespace
}  // namespace concord::audit
