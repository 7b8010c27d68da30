// AuditIngester over a real redis-server with the shipped ACL file: the workloads append to their
// intakes as their own ACL users, the ingester chains as the audit user (this folder's default).
// Every intake is chained in order with its source, atomically emptied; a forged or moved entry
// becomes a rejection record (never silence); two ingesters make one contiguous chain with every
// record exactly once; a tampered head stops ingestion without losing an entry; the worker
// chains within milliseconds of the wake-up, and lingers under load so that wake-ups share a
// batch; the metrics count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "common/metrics/metrics.h"
#include "common/redis/subscriber.h"
#include "common/status/status_macros.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_fixture.h"

namespace concord::audit {
namespace {

using ::concord::testing::FakeClock;
using ::testing::HasSubstr;

const std::vector<std::string> kWorkloads = {"directory", "audit", "messaging", "referrals"};

IngesterOptions Options(absl::Duration poll = absl::Milliseconds(500)) {
  return IngesterOptions{
      .workloads = kWorkloads, .trust_domain = "concord.test", .batch = 64, .poll_interval = poll};
}

// Options() and the slot intakes (messaging's send script's records, common/audit).
IngesterOptions SlotOptions() {
  IngesterOptions options = Options();
  options.slot_intakes = SlotIntakes();
  return options;
}

AuditEvent Event(const std::string& officer) {
  return AuditEvent{.agency = {"concord.test", AgencyType::kPolice, "pz-1"},
                    .officer = officer,
                    .operation = Operation::kConsultation,
                    .object = absl::StrCat("message:", officer),
                    .method = "/concord.messaging.v1.Messaging/Get",
                    .justification = "",
                    .recipients = {},
                    .outcome = "OK",
                    .time = absl::FromUnixSeconds(1'800'000'000)};
}

class AuditIngesterTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();  // redis_: the audit ACL user
    if (HasFatalFailure()) return;
    admin_ = redis::RedisClient::Create(server_->admin_config());
    for (std::string w : {"directory", "messaging", "referrals"}) {
      clients_[w] = redis::RedisClient::Create(server_->config(w));
      sinks_[w] = std::make_unique<IntakeAuditSink>(*clients_[w], key_, clock_, w);
    }
    store_ = std::make_unique<RedisAuditStore>(*redis_);
    log_ = std::make_unique<AuditLog>(*store_, key_, signing_key_, clock_);
    ingester_ =
        std::make_unique<AuditIngester>(*store_, key_, clock_, &metrics_.registry(), Options());
  }

  // Calls of `command` (all commands if empty) so far: INFO commandstats, deterministic; Redis 7
  // counts the commands a script runs as well as the EVALSHA. The INFO itself counts.
  int64_t Calls(const std::string& command = "") {
    auto r = admin_->Command({"INFO", "commandstats"});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    int64_t total = 0;
    for (absl::string_view line : absl::StrSplit(r->str, "\r\n")) {
      const size_t at = line.find(":calls=");
      if (!absl::StartsWith(line, "cmdstat_") || at == absl::string_view::npos) continue;
      if (!command.empty() && line.substr(8, at - 8) != command) continue;
      absl::string_view rest = line.substr(at + 7);
      int64_t n = 0;
      EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n)) << line;
      total += n;
    }
    return total;
  }
  std::vector<DecodedRecord> All() {
    QuerySpec spec;
    spec.page_size = AuditLog::kMaxPageSize;
    auto page = log_->Query(spec);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->records : std::vector<DecodedRecord>{};
  }
  bool Verifies() {
    auto report = log_->Verify(0, 0);
    return report.ok() && report->result.ok;
  }
  // As messaging's send script: the messaging user RPUSHes a sealed entry to its slot intake.
  Status PushSlot(const std::string& officer) {
    CONCORD_ASSIGN_OR_RETURN(std::string entry, sinks_["messaging"]->SealEntry(Event(officer)));
    return clients_["messaging"]->Command({"RPUSH", SlotIntakeKey("msg"), entry}).status();
  }
  int64_t SlotLength() {
    auto r = admin_->Command({"LLEN", SlotIntakeKey("msg")});
    return r.ok() ? r->integer : -1;
  }
  int64_t Length(const std::string& workload) {
    auto r = admin_->Command({"LLEN", IntakeKey(workload)});
    return r.ok() ? r->integer : -1;
  }
  double Metric(const std::string& name, const std::string& workload) {
    for (const auto& family : metrics_.registry().Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "workload" && l.value == workload) {
            return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
          }
        }
      }
    }
    return -1;
  }

  AuditKey key_ = *AuditKey::FromBytes(std::string(32, 'a'));
  crypto::Ed25519PrivateKey signing_key_ = crypto::Ed25519PrivateKey::Generate();
  FakeClock clock_;
  metrics::Metrics metrics_;
  std::unique_ptr<redis::RedisClient> admin_;
  std::map<std::string, std::unique_ptr<redis::RedisClient>> clients_;
  std::map<std::string, std::unique_ptr<IntakeAuditSink>> sinks_;
  std::unique_ptr<RedisAuditStore> store_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<AuditIngester> ingester_;
};

TEST_F(AuditIngesterTest, ChainsEveryIntakeInOrderWithItsSourceAndEmptiesIt) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sinks_["messaging"]->Append(Event(absl::StrCat("m", i))).ok());
    ASSERT_TRUE(sinks_["referrals"]->Append(Event(absl::StrCat("r", i))).ok());
  }
  ASSERT_TRUE(sinks_["directory"]->Append(Event("d0")).ok());
  auto chained = ingester_->IngestPending();
  ASSERT_TRUE(chained.ok()) << chained.status();
  EXPECT_EQ(*chained, 7u);
  EXPECT_TRUE(Verifies());
  for (const std::string& w : kWorkloads) EXPECT_EQ(Length(w), 0) << w;

  std::map<std::string, std::vector<std::string>> by_source;  // oldest first
  std::vector<DecodedRecord> records = All();
  ASSERT_EQ(records.size(), 7u);
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    by_source[it->source].push_back(it->event.officer);
  }
  EXPECT_THAT(by_source["messaging"], ::testing::ElementsAre("m0", "m1", "m2"));
  EXPECT_THAT(by_source["referrals"], ::testing::ElementsAre("r0", "r1", "r2"));
  EXPECT_THAT(by_source["directory"], ::testing::ElementsAre("d0"));
  EXPECT_EQ(ingester_->ingested("messaging"), 3u);
  EXPECT_EQ(Metric("concord_audit_ingested_total", "referrals"), 3);
  EXPECT_EQ(*ingester_->IngestPending(), 0u);  // nothing left, nothing twice
}

// Security: a compromised workload can push anything into its intake, but what does not open
// with the audit key for that intake is recorded as rejected, attributed to that intake.
TEST_F(AuditIngesterTest, ForgedOrMovedEntriesBecomeRejectionRecords) {
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("genuine")).ok());
  // The referrals user RPUSHes garbage (it may append to its own intake only).
  ASSERT_TRUE(clients_["referrals"]
                  ->Command({"RPUSH", IntakeKey("referrals"), "forged entry, no audit key"})
                  .ok());
  // A genuine messaging entry replayed into the referrals intake (by someone able to).
  auto entry = admin_->Command({"LINDEX", IntakeKey("messaging"), "0"});
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(admin_->Command({"RPUSH", IntakeKey("referrals"), entry->str}).ok());

  ASSERT_EQ(*ingester_->IngestPending(), 3u);
  EXPECT_TRUE(Verifies());
  std::vector<DecodedRecord> rejected;
  for (const DecodedRecord& r : All()) {
    if (r.source == "referrals") rejected.push_back(r);
  }
  ASSERT_EQ(rejected.size(), 2u);
  for (const DecodedRecord& r : rejected) {
    EXPECT_EQ(r.event.agency.Key(), "admin/concord-audit");
    EXPECT_EQ(r.event.outcome, "DATA_LOSS");
    EXPECT_EQ(r.event.object, "audit-intake:referrals");
    EXPECT_THAT(r.event.justification, HasSubstr("intake entry sha256 "));
  }
  EXPECT_EQ(Metric("concord_audit_intake_rejected_total", "referrals"), 2);
  EXPECT_EQ(Metric("concord_audit_intake_rejected_total", "messaging"), 0);
}

// A compromised workload pushing a huge entry cannot make the ingester read it whole.
TEST_F(AuditIngesterTest, AnOversizedEntryIsRejectedWithoutBeingRead) {
  const std::string huge(RedisAuditStore::kMaxIntakeEntryBytes + 1, 'x');
  ASSERT_TRUE(clients_["referrals"]->Command({"RPUSH", IntakeKey("referrals"), huge}).ok());
  auto read = store_->ReadIntakes({"referrals"}, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ((*read)[0].size(), 1u);
  EXPECT_LT((*read)[0][0].size(), 64u);
  ASSERT_EQ(*ingester_->IngestPending(), 1u);
  EXPECT_EQ(Length("referrals"), 0);
  const std::vector<DecodedRecord> records = All();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event.outcome, "DATA_LOSS");
  EXPECT_THAT(records[0].event.justification,
              HasSubstr(absl::StrCat(huge.size(), " bytes rejected: too large")));
}

// Test that two audit replicas ingesting at once make one contiguous chain, each record once,
// from the intakes and from messaging's slot intake (whose trims follow the chain separately).
TEST_F(AuditIngesterTest, TwoIngestersMakeOneChainWithEveryRecordExactlyOnce) {
  AuditIngester one(*store_, key_, clock_, nullptr, SlotOptions());
  auto other_redis = redis::RedisClient::Create(server_->config("audit"));
  RedisAuditStore other_store(*other_redis);
  AuditIngester other(other_store, key_, clock_, nullptr, SlotOptions());
  constexpr int kEach = 60;
  std::atomic<bool> writing{true};
  std::vector<std::thread> writers;
  for (std::string w : {"directory", "messaging", "referrals"}) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(sinks_[w]->Append(Event(absl::StrCat(w, "-", i))).ok());
      }
    });
  }
  writers.emplace_back([&] {  // as the send script: the messaging user RPUSHes sealed entries
    for (int i = 0; i < kEach; ++i) {
      EXPECT_TRUE(PushSlot(absl::StrCat("slot-", i)).ok());
    }
  });
  std::atomic<int> errors{0};
  auto drain = [&](AuditIngester& ingester) {
    for (int i = 0; i < 10'000 && (writing || Length("messaging") + Length("referrals") +
                                                      Length("directory") + SlotLength() >
                                                  0);
         ++i) {
      auto r = ingester.IngestPending();
      if (!r.ok()) ++errors;
    }
  };
  std::thread a([&] { drain(one); });
  std::thread b([&] { drain(other); });
  for (auto& t : writers) t.join();
  writing = false;
  a.join();
  b.join();
  ASSERT_TRUE(one.IngestPending().ok());
  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(Verifies());
  std::set<std::string> officers;
  size_t count = 0;
  for (const DecodedRecord& r : All()) {
    officers.insert(r.event.officer);
    ++count;
  }
  EXPECT_EQ(count, static_cast<size_t>(4 * kEach));
  EXPECT_EQ(officers.size(), static_cast<size_t>(4 * kEach));
  EXPECT_EQ(one.ingested("messaging") + other.ingested("messaging"),
            static_cast<uint64_t>(2 * kEach));
  EXPECT_EQ(SlotLength(), 0);
}

// Test that the entries messaging's send script appends to its slot intake (outside the {audit}
// slot) are chained in order with their source, then trimmed, and that the count that says which
// are chained moves with the records.
TEST_F(AuditIngesterTest, SlotIntakeEntriesAreChainedInOrderWithTheirSourceThenTrimmed) {
  AuditIngester ingester(*store_, key_, clock_, &metrics_.registry(), SlotOptions());
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("m0")).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PushSlot(absl::StrCat("s", i)).ok());
  // A compromised messaging pod may push garbage there too: it becomes a rejection record.
  ASSERT_TRUE(clients_["messaging"]->Command({"RPUSH", SlotIntakeKey("msg"), "forged"}).ok());
  ingester.RefreshBacklog();
  EXPECT_EQ(Metric("concord_audit_intake_backlog", "messaging"), 5);
  auto chained = ingester.IngestPending();
  ASSERT_TRUE(chained.ok()) << chained.status();
  EXPECT_EQ(*chained, 5u);
  EXPECT_TRUE(Verifies());
  std::vector<std::string> officers;  // oldest first
  std::vector<DecodedRecord> records = All();
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    EXPECT_EQ(it->source, "messaging");
    officers.push_back(it->event.officer);
  }
  EXPECT_THAT(officers, ::testing::ElementsAre("m0", "s0", "s1", "s2", "system:ingest"));
  EXPECT_EQ(records.front().event.object, "audit-intake:messaging");
  EXPECT_EQ(Metric("concord_audit_intake_rejected_total", "messaging"), 1);
  EXPECT_EQ(SlotLength(), 0);
  EXPECT_EQ(admin_->Command({"GET", SlotIntakeTrimmedKey("msg")})->str, "4");
  EXPECT_EQ(admin_->Command({"HGET", SlotConsumedKey(), "msg"})->str, "4");
  ingester.RefreshBacklog();
  EXPECT_EQ(Metric("concord_audit_intake_backlog", "messaging"), 0);
  EXPECT_EQ(*ingester.IngestPending(), 0u);  // nothing left, nothing twice
}

// The real Redis store, call for call; tests override the one step they make fail.
class ForwardingStore : public AuditStore {
 public:
  explicit ForwardingStore(AuditStore& real) : real_(real) {}
  StatusOr<ChainHead> GetHead() override { return real_.GetHead(); }
  StatusOr<uint64_t> CountRecords() override { return real_.CountRecords(); }
  StatusOr<std::vector<std::optional<std::string>>> GetRecords(
      const std::vector<uint64_t>& seqs) override {
    return real_.GetRecords(seqs);
  }
  StatusOr<std::vector<uint64_t>> ListIndex(const IndexSelector& index, uint64_t before_seq,
                                            size_t limit) override {
    return real_.ListIndex(index, before_seq, limit);
  }
  StatusOr<Checkpoint> PutCheckpoint(const Checkpoint& cp) override {
    return real_.PutCheckpoint(cp);
  }
  StatusOr<std::vector<StoredCheckpoint>> ListCheckpoints(uint64_t from_seq,
                                                          uint64_t to_seq) override {
    return real_.ListCheckpoints(from_seq, to_seq);
  }
  StatusOr<std::optional<Checkpoint>> LatestCheckpoint() override {
    return real_.LatestCheckpoint();
  }
  StatusOr<std::vector<std::vector<std::string>>> ReadIntakes(
      const std::vector<std::string>& workloads, size_t max_each) override {
    return real_.ReadIntakes(workloads, max_each);
  }
  StatusOr<std::vector<uint64_t>> IntakeLengths(
      const std::vector<std::string>& workloads) override {
    return real_.IntakeLengths(workloads);
  }
  StatusOr<std::vector<uint64_t>> SlotConsumed(const std::vector<std::string>& tags) override {
    return real_.SlotConsumed(tags);
  }
  StatusOr<SlotIntakeRead> ReadSlotIntake(const std::string& tag, uint64_t from,
                                          size_t max) override {
    return real_.ReadSlotIntake(tag, from, max);
  }
  Status TrimSlotIntake(const std::string& tag, uint64_t consumed) override {
    return real_.TrimSlotIntake(tag, consumed);
  }
  StatusOr<uint64_t> SlotIntakeLength(const std::string& tag) override {
    return real_.SlotIntakeLength(tag);
  }
  StatusOr<bool> TakeIngestLease(const std::string& owner, absl::Duration ttl) override {
    return real_.TakeIngestLease(owner, ttl);
  }
  StatusOr<ChainAppendResult> AppendFromIntakes(
      const ChainHead& expected, const std::vector<ChainEntry>& entries,
      const std::vector<std::pair<std::string, size_t>>& consumed,
      const std::vector<SlotConsumedUpdate>& slots) override {
    return real_.AppendFromIntakes(expected, entries, consumed, slots);
  }

 private:
  AuditStore& real_;
};

// A store whose slot intake trims fail (the replica died between the chain's script and the
// trim, or Redis went away); the rest is the real Redis store.
class TrimFailingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Status TrimSlotIntake(const std::string&, uint64_t) override {
    return absl::UnavailableError("redis: test: the trim never arrives");
  }
};

// Test that entries chained but not trimmed (a crash between the two scripts, which cannot be
// one: two Cluster slots) are never chained again, and are trimmed by the next batch.
TEST_F(AuditIngesterTest, ASlotIntakeEntryChainedButNotTrimmedIsNeverChainedTwice) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PushSlot(absl::StrCat("s", i)).ok());
  TrimFailingStore failing(*store_);
  AuditIngester crashed(failing, key_, clock_, nullptr, SlotOptions());
  ASSERT_EQ(*crashed.IngestPending(), 3u);
  EXPECT_EQ(SlotLength(), 3);  // chained, still there
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(PushSlot(absl::StrCat("s", i)).ok());

  AuditIngester ingester(*store_, key_, clock_, nullptr, SlotOptions());
  ASSERT_EQ(*ingester.IngestPending(), 2u);
  EXPECT_TRUE(Verifies());
  std::vector<std::string> officers;
  std::vector<DecodedRecord> records = All();
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    officers.push_back(it->event.officer);
  EXPECT_THAT(officers, ::testing::ElementsAre("s0", "s1", "s2", "s3", "s4"));
  EXPECT_EQ(SlotLength(), 0);
  EXPECT_EQ(admin_->Command({"GET", SlotIntakeTrimmedKey("msg")})->str, "5");
}

// Security: pending entries removed from the slot intake behind the chain's back (its trimmed
// count moved beyond what the chain consumed) stop ingestion with DATA_LOSS; nothing is chained
// over the gap.
TEST_F(AuditIngesterTest, ASlotIntakeTrimmedBeyondTheChainIsDataLoss) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PushSlot(absl::StrCat("s", i)).ok());
  ASSERT_TRUE(admin_->Command({"LTRIM", SlotIntakeKey("msg"), "1", "-1"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", SlotIntakeTrimmedKey("msg"), "1"}).ok());
  AuditIngester ingester(*store_, key_, clock_, nullptr, SlotOptions());
  auto chained = ingester.IngestPending();
  EXPECT_EQ(chained.status().code(), absl::StatusCode::kDataLoss) << chained.status();
  EXPECT_THAT(std::string(chained.status().message()), HasSubstr("trimmed beyond"));
  EXPECT_TRUE(All().empty());
  EXPECT_EQ(SlotLength(), 2);  // the rest stays pending
}

// A rewound head (records beyond it) is tampering: nothing is chained, nothing is lost.
// A store whose compare-and-set always loses (another ingester always first); the rest is
// the real Redis store.
class AlwaysLosingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  StatusOr<ChainAppendResult> AppendFromIntakes(const ChainHead& expected,
                                                const std::vector<ChainEntry>&,
                                                const std::vector<std::pair<std::string, size_t>>&,
                                                const std::vector<SlotConsumedUpdate>&) override {
    return ChainAppendResult{.appended = false, .head = expected};
  }
};

// Test that a long losing streak ends in ABORTED after kMaxConflicts tries with pauses of at
// most 10 ms each (before the fix, from the 26th loss on, the pause bound overflowed and the
// worker slept for ever: a replica's audit ingestion and its shutdown hung, found by
// fault.redis_sigkill with two replicas).
TEST_F(AuditIngesterTest, ALosingStreakEndsInAbortedWithinBoundedPauses) {
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("m0")).ok());
  AlwaysLosingStore losing(*store_);
  AuditIngester ingester(losing, key_, clock_, nullptr, Options());
  const absl::Time start = absl::Now();
  auto chained = ingester.IngestPending();
  EXPECT_EQ(chained.status().code(), absl::StatusCode::kAborted) << chained.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // 32 pauses of at most 10 ms, and I/O
  EXPECT_EQ(Length("messaging"), 1);                 // nothing consumed
}

TEST_F(AuditIngesterTest, TamperedHeadStopsIngestionWithoutLosingEntries) {
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("a")).ok());
  ASSERT_EQ(*ingester_->IngestPending(), 1u);
  ASSERT_TRUE(admin_->Command({"DEL", HeadKey()}).ok());
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("b")).ok());
  auto r = ingester_->IngestPending();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("beyond the head"));
  EXPECT_EQ(Length("messaging"), 1);
}

// Test the ingestion lease: one owner at a time, renewed by its holder, taken over once expired
// (by Redis's clock).
TEST_F(AuditIngesterTest, TheIngestLeaseHasOneOwnerAtATimeAndExpires) {
  EXPECT_TRUE(*store_->TakeIngestLease("replica-a", absl::Seconds(30)));
  EXPECT_FALSE(*store_->TakeIngestLease("replica-b", absl::Seconds(30)));
  EXPECT_TRUE(*store_->TakeIngestLease("replica-a", absl::Milliseconds(50)));  // renewed, shorter
  bool taken = false;
  const absl::Time start = absl::Now();
  while (!taken && absl::Now() - start < absl::Seconds(5)) {  // bounded: the lease is 50 ms
    taken = *store_->TakeIngestLease("replica-b", absl::Seconds(30));
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(taken);
  EXPECT_FALSE(*store_->TakeIngestLease("replica-a", absl::Seconds(30)));
}

// Test that the workers of two replicas take turns by the lease instead of racing for each batch:
// while one holds it, the other's worker, woken as often, chains nothing; every record is chained
// once. (Read-your-writes calls, IngestPending directly, ignore the lease: the two-ingester test.)
TEST_F(AuditIngesterTest, TheWorkersOfTwoReplicasTakeTurnsByTheLease) {
  IngesterOptions options = SlotOptions();
  options.lease = absl::Seconds(30);  // longer than the test: the first holder keeps it
  options.linger = absl::ZeroDuration();
  AuditIngester one(*store_, key_, clock_, nullptr, options);
  auto other_redis = redis::RedisClient::Create(server_->config("audit"));
  RedisAuditStore other_store(*other_redis);
  AuditIngester two(other_store, key_, clock_, nullptr, options);
  one.Start();
  two.Start();
  constexpr int kRecords = 40;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(sinks_["referrals"]->Append(Event(absl::StrCat("r", i))).ok());
    ASSERT_TRUE(PushSlot(absl::StrCat("s", i)).ok());
    one.Wake();
    two.Wake();
  }
  uint64_t head = 0;
  const absl::Time start = absl::Now();
  while (head < 2 * kRecords && absl::Now() - start < absl::Seconds(10)) {  // bounded polling
    head = store_->GetHead()->seq;
    if (head < 2 * kRecords) {
      one.Wake();
      two.Wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  one.Stop();
  two.Stop();
  EXPECT_EQ(head, 2u * kRecords);
  EXPECT_TRUE(Verifies());
  const uint64_t by_one = one.ingested("referrals") + one.ingested("messaging");
  const uint64_t by_two = two.ingested("referrals") + two.ingested("messaging");
  EXPECT_EQ(by_one + by_two, 2u * kRecords);
  EXPECT_TRUE(by_one == 0 || by_two == 0) << by_one << " and " << by_two;
}

// Test that the worker chains a record within milliseconds of the wake-up, not the poll.
TEST_F(AuditIngesterTest, WorkerChainsSoonAfterTheWakeUp) {
  AuditIngester worker(*store_, key_, clock_, nullptr, Options(/*poll=*/absl::Minutes(10)));
  std::atomic<bool> subscribed{false};
  redis::Subscriber wakeups(
      server_->config("audit"), {std::string(kIntakeChannel)},
      [&](const std::string&, const std::string&) { worker.Wake(); },
      [&] {
        subscribed = true;
        worker.Wake();
      });
  worker.Start();
  for (int i = 0; i < 500 && !subscribed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(subscribed);
  // Poll (bounded) for the asynchronous effect; the poll interval is ten minutes.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(sinks_["referrals"]->Append(Event("fast")).ok());
  uint64_t head = 0;
  while (head == 0 && absl::Now() - start < absl::Seconds(5)) {
    head = store_->GetHead()->seq;
    if (head == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const absl::Duration took = absl::Now() - start;
  worker.Stop();
  EXPECT_EQ(head, 1u);
  EXPECT_LT(took, absl::Seconds(2));
}

// Test that the worker lingers under load and not when idle: a wake-up after an idle period is
// served at once; the wake-ups that arrive while the previous pass's linger runs are served
// together after it, by ONE read and ONE append (two scripts), not one pass each.
TEST_F(AuditIngesterTest, UnderLoadWakeUpsShareOneBatchAfterTheLinger) {
  constexpr absl::Duration kLinger = absl::Seconds(2);
  IngesterOptions options = Options(/*poll=*/absl::Minutes(10));
  options.linger = kLinger;
  AuditIngester worker(*store_, key_, clock_, nullptr, options);
  worker.Start();
  auto wait_for_head = [&](uint64_t want) {
    const absl::Time start = absl::Now();
    uint64_t head = 0;
    while (absl::Now() - start < absl::Seconds(10)) {
      head = store_->GetHead()->seq;
      if (head >= want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return head;
  };
  // Idle: the first record is chained at once, well before a linger would have passed.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("first")).ok());
  worker.Wake();
  ASSERT_EQ(wait_for_head(1), 1u);
  const absl::Time first = absl::Now();
  EXPECT_LT(first - start, kLinger);
  // Busy: four records, each with its wake-up, during the linger that follows.
  const int64_t scripts = Calls("evalsha");
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sinks_["messaging"]->Append(Event(absl::StrCat("busy", i))).ok());
    worker.Wake();
  }
  ASSERT_EQ(wait_for_head(5), 5u);
  const absl::Duration waited = absl::Now() - first;
  worker.Stop();
  EXPECT_GE(waited, kLinger / 2);
  EXPECT_EQ(Calls("evalsha") - scripts, 2) << "one read and one append for the four records";
  EXPECT_TRUE(Verifies());
}

// Test that an entry appended to a non-empty intake (its sink publishes no wake-up) is chained by
// the follow-up pass that comes after every pass that chained something, within the linger and
// not after the poll interval (ten minutes here).
TEST_F(AuditIngesterTest, AnEntryAppendedWithoutAWakeUpIsChainedByTheFollowUpPass) {
  IngesterOptions options = Options(/*poll=*/absl::Minutes(10));
  options.linger = absl::Seconds(2);  // the second entry is appended well within it
  AuditIngester worker(*store_, key_, clock_, nullptr, options);
  auto wait_for_head = [&](uint64_t want) {
    const absl::Time start = absl::Now();
    uint64_t head = 0;
    while (absl::Now() - start < absl::Seconds(10)) {
      head = store_->GetHead()->seq;
      if (head >= want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return head;
  };
  // An entry left in the intake: the worker's first pass chains it and then wakes itself.
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("first")).ok());
  worker.Start();
  ASSERT_EQ(wait_for_head(1), 1u);
  // No Wake() for this one (the intake may still hold the first, or be empty: either way the
  // follow-up pass reads it).
  ASSERT_TRUE(sinks_["referrals"]->Append(Event("second")).ok());
  EXPECT_EQ(wait_for_head(2), 2u);
  worker.Stop();
  EXPECT_TRUE(Verifies());
}

TEST_F(AuditIngesterTest, BacklogGaugeShowsWhatWaits) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sinks_["messaging"]->Append(Event("w")).ok());
  ingester_->RefreshBacklog();
  EXPECT_EQ(Metric("concord_audit_intake_backlog", "messaging"), 3);
  EXPECT_EQ(Metric("concord_audit_intake_backlog", "referrals"), 0);
  ASSERT_TRUE(ingester_->IngestPending().ok());
  ingester_->RefreshBacklog();
  EXPECT_EQ(Metric("concord_audit_intake_backlog", "messaging"), 0);
}

// Test that chaining costs a fixed number of Redis commands per batch, not a number per record:
// 256 records shaped like the messaging workload (one agency, 4 records per message: a Send and
// 3 Acks) in batches of 64. Each record used to cost HEXISTS, HSET and 2 ZADD (>= 4 commands per
// record, 1,024 here); now a batch is one HMGET of the head, one HMGET beyond it, one HSET of the
// records, one ZADD per distinct index key, the intakes' LLEN/LTRIM and the head's HSET. Command
// counts are deterministic (INFO commandstats; Redis 7 counts the commands a script runs).
TEST_F(AuditIngesterTest, ChainingCostsAFixedNumberOfCommandsPerBatch) {
  constexpr int kRecords = 256;
  for (int i = 0; i < kRecords; ++i) {
    AuditEvent e = Event(absl::StrCat("o", i));
    e.object = absl::StrCat("message:", i / 4);
    ASSERT_TRUE(sinks_["messaging"]->Append(e).ok());
  }
  const int64_t before = Calls();
  auto chained = ingester_->IngestPending();
  const int64_t after = Calls();
  ASSERT_TRUE(chained.ok()) << chained.status();
  ASSERT_EQ(*chained, static_cast<uint64_t>(kRecords));
  const int64_t commands = after - before - 1;  // the second INFO counts itself
  RecordProperty("commands", static_cast<int>(commands));
  // Per batch of 64: 16 object ZADDs + 1 agency ZADD + ~24 fixed (two scripts, 4 LRANGE, 4 LLEN,
  // HMGETs, HSETs, LTRIM); plus the final empty read. About 0.65 per record; bound 1.
  EXPECT_LE(commands, kRecords) << commands << " commands for " << kRecords << " records";
  EXPECT_TRUE(Verifies());
  EXPECT_EQ(Length("messaging"), 0);
  // Every index the queries use still lists every record.
  QuerySpec spec;
  spec.page_size = AuditLog::kMaxPageSize;
  spec.kind = QuerySpec::Kind::kObject;
  spec.object = "message:7";
  auto page = log_->Query(spec);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->records.size(), 4u);
}

// Test that a batch that is not full ends the call: it read every intake to its end, so there is
// no further, empty read (one script to read, one to append; it was three).
TEST_F(AuditIngesterTest, ABatchThatIsNotFullEndsTheCall) {
  // Load the scripts first (their first EVALSHA is refused with NOSCRIPT and counts).
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("warm-up")).ok());
  ASSERT_EQ(*ingester_->IngestPending(), 1u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(sinks_["messaging"]->Append(Event(absl::StrCat("o", i))).ok());
  }
  ASSERT_TRUE(sinks_["referrals"]->Append(Event("r")).ok());
  const int64_t before = Calls("evalsha");
  auto chained = ingester_->IngestPending();
  ASSERT_TRUE(chained.ok()) << chained.status();
  EXPECT_EQ(*chained, 11u);
  EXPECT_EQ(Calls("evalsha") - before, 2);
  EXPECT_EQ(Length("messaging"), 0);
  EXPECT_EQ(Length("referrals"), 0);
  EXPECT_TRUE(Verifies());
}

// Test that a batch larger than the script's argument chunk (1,000 arguments: 500 records in one
// HSET, 500 members in one ZADD) is written whole, indexed and verifies.
TEST_F(AuditIngesterTest, ALargeBatchIsWrittenInChunksAndVerifies) {
  constexpr int kRecords = 700;
  IngesterOptions options = Options();
  options.batch = kRecords;
  AuditIngester large(*store_, key_, clock_, nullptr, options);
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(sinks_["messaging"]->Append(Event(absl::StrCat("o", i))).ok());
  }
  auto chained = large.IngestPending();
  ASSERT_TRUE(chained.ok()) << chained.status();
  EXPECT_EQ(*chained, static_cast<uint64_t>(kRecords));
  EXPECT_TRUE(Verifies());
  auto r = admin_->Command({"HLEN", RecordsKey()});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->integer, kRecords);
  auto agency = admin_->Command({"ZCARD", AgencyIndexKey(Event("x").agency)});
  ASSERT_TRUE(agency.ok());
  EXPECT_EQ(agency->integer, kRecords);
  auto object = admin_->Command({"ZCARD", ObjectIndexKey("message:o699")});
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->integer, 1);
}

// Test that a record injected anywhere beyond the head (not only at head + 1) refuses the whole
// batch: nothing is written and the entries stay in their intake.
TEST_F(AuditIngesterTest, ARecordInjectedInsideTheNextBatchRefusesIt) {
  ASSERT_TRUE(sinks_["messaging"]->Append(Event("a")).ok());
  ASSERT_EQ(*ingester_->IngestPending(), 1u);
  ASSERT_TRUE(admin_->Command({"HSET", RecordsKey(), "5", "injected"}).ok());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(sinks_["messaging"]->Append(Event(absl::StrCat("b", i))).ok());
  }
  auto r = ingester_->IngestPending();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("beyond the head"));
  EXPECT_EQ(Length("messaging"), 6);
  auto head = store_->GetHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 1u);
  auto rec = admin_->Command({"HLEN", RecordsKey()});
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->integer, 2);  // record 1 and the injected one; nothing else written
}

}  // namespace
}  // namespace concord::audit
