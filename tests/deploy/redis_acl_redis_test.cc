// deploy/redis-users.acl on a real redis-server (tests/support/redis_server loads the shipped
// file): one ACL user per workload, each with only its own keys and commands. The threats of
// docs/security.md ("Threats, controls and proofs"): a compromised referrals or messaging pod
// cannot write the directory, cannot write, delete or trim any {audit} key (chain, checkpoints,
// indexes, its own or another workload's intake), and can only append to its own intake; the
// audit user can do its job (chain the intakes, sign a checkpoint).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "common/quota/token_bucket.h"
#include "common/redis/redis_client.h"
#include "common/redis/subscriber.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_server.h"

namespace concord {
namespace {

using ::testing::HasSubstr;

class RedisAclTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = testing::RedisServer::Start({}).release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    server_->FlushAll();
    admin_ = redis::RedisClient::Create(server_->admin_config());
    // What the workloads legitimately find there.
    ASSERT_TRUE(admin_->Command({"HSET", "concord:{dir}:agency:police/pz-1", "json", "{}"}).ok());
    ASSERT_TRUE(admin_->Command({"SADD", "concord:{dir}:suspended", "police/pz-9"}).ok());
    ASSERT_TRUE(admin_->Command({"HSET", "concord:{dir}:revoked", "01AB", "{}"}).ok());
    ASSERT_TRUE(admin_->Command({"HSET", audit::RecordsKey(), "1", "record"}).ok());
    ASSERT_TRUE(admin_->Command({"HSET", audit::HeadKey(), "seq", "1", "hash", "h"}).ok());
    ASSERT_TRUE(admin_->Command({"HSET", audit::CheckpointsKey(), "1", "cp"}).ok());
    ASSERT_TRUE(admin_->Command({"ZADD", audit::CheckpointIndexKey(), "1", "1"}).ok());
    for (const char* w :
         {"directory", "messaging", "referrals", "guidelines", "liaison", "gateway"}) {
      ASSERT_TRUE(admin_->Command({"RPUSH", audit::IntakeKey(w), "pending"}).ok());
    }
    ASSERT_TRUE(admin_->Command({"RPUSH", audit::SlotIntakeKey("msg"), "pending"}).ok());
    ASSERT_TRUE(admin_->Command({"SET", audit::SlotIntakeTrimmedKey("msg"), "7"}).ok());
  }

  static std::unique_ptr<redis::RedisClient> As(const std::string& workload) {
    return redis::RedisClient::Create(server_->config(workload));
  }
  // The reply or error text of a command.
  static std::string Run(redis::RedisClient& c, const std::vector<std::string>& cmd) {
    auto r = c.Command(cmd);
    if (!r.ok()) return std::string(r.status().message());
    return r->type == redis::Reply::Type::kInteger ? std::to_string(r->integer) : r->str;
  }
  static void ExpectRefused(redis::RedisClient& c, const std::vector<std::string>& cmd) {
    const std::string out = Run(c, cmd);
    EXPECT_THAT(out, HasSubstr("NOPERM")) << cmd[0] << " " << (cmd.size() > 1 ? cmd[1] : "");
  }
  static void ExpectAllowed(redis::RedisClient& c, const std::vector<std::string>& cmd) {
    auto r = c.Command(cmd);
    EXPECT_TRUE(r.ok()) << cmd[0] << " " << (cmd.size() > 1 ? cmd[1] : "") << ": " << r.status();
  }
  // What Redis still holds of the audit keys a compromised pod tried to change.
  void ExpectAuditUntouched() {
    EXPECT_EQ(Run(*admin_, {"HGET", audit::RecordsKey(), "1"}), "record");
    EXPECT_EQ(Run(*admin_, {"HGET", audit::HeadKey(), "seq"}), "1");
    EXPECT_EQ(Run(*admin_, {"HGET", audit::CheckpointsKey(), "1"}), "cp");
    EXPECT_EQ(Run(*admin_, {"ZCARD", audit::CheckpointIndexKey()}), "1");
    for (const char* w :
         {"directory", "messaging", "referrals", "guidelines", "liaison", "gateway"}) {
      EXPECT_EQ(Run(*admin_, {"LINDEX", audit::IntakeKey(w), "0"}), "pending") << w;
    }
    EXPECT_EQ(Run(*admin_, {"LINDEX", audit::SlotIntakeKey("msg"), "0"}), "pending");
    EXPECT_EQ(Run(*admin_, {"GET", audit::SlotIntakeTrimmedKey("msg")}), "7");
  }

  // A compromised pod of `workload` (not directory, not audit) tries everything it must not.
  void CompromisedPodIsContained(const std::string& workload, const std::string& other) {
    auto pod = As(workload);
    // Directory: read-only.
    ExpectAllowed(*pod, {"HGET", "concord:{dir}:agency:police/pz-1", "json"});
    ExpectAllowed(*pod, {"SMEMBERS", "concord:{dir}:suspended"});
    ExpectAllowed(*pod, {"HKEYS", "concord:{dir}:revoked"});
    ExpectRefused(*pod, {"HSET", "concord:{dir}:agency:police/pz-1", "json", "{\"evil\":1}"});
    ExpectRefused(*pod, {"SREM", "concord:{dir}:suspended", "police/pz-9"});
    ExpectRefused(*pod, {"HDEL", "concord:{dir}:revoked", "01AB"});
    ExpectRefused(*pod, {"DEL", "concord:{dir}:agency:police/pz-1"});
    ExpectRefused(*pod, {"PUBLISH", "concord:directory:events", "reload"});
    // A script runs with the caller's rights: no way around the ACL through Lua.
    auto sha =
        admin_->Command({"SCRIPT", "LOAD", "return redis.call('HSET', KEYS[1], 'json', ARGV[1])"});
    ASSERT_TRUE(sha.ok());
    ExpectRefused(*pod, {"EVALSHA", sha->str, "1", "concord:{dir}:agency:police/pz-1", "x"});
    ExpectRefused(*pod, {"EVALSHA", sha->str, "1", audit::RecordsKey(), "x"});
    // The audit chain, its indexes and checkpoints: no write, no delete.
    ExpectRefused(*pod, {"HSET", audit::RecordsKey(), "2", "forged"});
    ExpectRefused(*pod, {"HDEL", audit::RecordsKey(), "1"});
    ExpectRefused(*pod, {"DEL", audit::RecordsKey()});
    ExpectRefused(*pod, {"HSET", audit::HeadKey(), "seq", "0"});
    ExpectRefused(*pod, {"DEL", audit::HeadKey()});
    ExpectRefused(*pod, {"HDEL", audit::CheckpointsKey(), "1"});
    ExpectRefused(*pod, {"DEL", audit::CheckpointIndexKey()});
    ExpectRefused(*pod, {"ZADD", audit::ObjectIndexKey("x"), "1", "1"});
    ExpectRefused(*pod, {"HGET", audit::RecordsKey(), "1"});
    // Its own intake: append only. No trim, pop, rewrite, delete, expiry or read.
    ExpectAllowed(*pod, {"RPUSH", audit::IntakeKey(workload), "appended"});
    ExpectRefused(*pod, {"LTRIM", audit::IntakeKey(workload), "1", "-1"});
    ExpectRefused(*pod, {"LPOP", audit::IntakeKey(workload)});
    ExpectRefused(*pod, {"RPOP", audit::IntakeKey(workload)});
    ExpectRefused(*pod, {"LSET", audit::IntakeKey(workload), "0", "x"});
    ExpectRefused(*pod, {"LREM", audit::IntakeKey(workload), "0", "pending"});
    ExpectRefused(*pod, {"DEL", audit::IntakeKey(workload)});
    ExpectRefused(*pod, {"UNLINK", audit::IntakeKey(workload)});
    ExpectRefused(*pod, {"PEXPIRE", audit::IntakeKey(workload), "1"});
    ExpectRefused(*pod, {"RENAME", audit::IntakeKey(workload), audit::IntakeKey("gone")});
    ExpectRefused(*pod, {"LRANGE", audit::IntakeKey(workload), "0", "-1"});
    // Another workload's intake: nothing at all.
    ExpectRefused(*pod, {"RPUSH", audit::IntakeKey(other), "framed"});
    ExpectRefused(*pod, {"RPUSH", audit::IntakeKey("audit"), "framed"});
    // Messaging's slot intake (its send script appends the records of new messages there; the
    // key is outside concord:{msg}:*): append only for messaging, nothing for the others; its
    // trimmed count belongs to the audit user. Not through a script either.
    const std::string slot = audit::SlotIntakeKey("msg");
    const std::string trimmed = audit::SlotIntakeTrimmedKey("msg");
    auto any = admin_->Command({"SCRIPT", "LOAD", "return redis.call(unpack(ARGV))"});
    ASSERT_TRUE(any.ok());
    auto scripted = [&](std::vector<std::string> cmd) {
      cmd.insert(cmd.begin(), {"EVALSHA", any->str, "0"});
      return Run(*pod, cmd);
    };
    if (workload == "messaging") {
      ExpectAllowed(*pod, {"RPUSH", slot, "appended"});
      EXPECT_EQ(scripted({"RPUSH", slot, "scripted"}), "3");
    } else {
      ExpectRefused(*pod, {"RPUSH", slot, "framed"});
    }
    for (const std::vector<std::string>& cmd :
         std::vector<std::vector<std::string>>{{"LTRIM", slot, "1", "-1"},
                                               {"LPOP", slot},
                                               {"LSET", slot, "0", "x"},
                                               {"DEL", slot},
                                               {"LRANGE", slot, "0", "-1"},
                                               {"SET", trimmed, "0"},
                                               {"INCR", trimmed},
                                               {"DEL", trimmed}}) {
      ExpectRefused(*pod, cmd);
      EXPECT_THAT(scripted(cmd), ::testing::AnyOf(HasSubstr("NOPERM"), HasSubstr("can't")))
          << cmd[0];
    }
    // Another workload's keys and the server.
    ExpectRefused(*pod,
                  {"HSET", other == "messaging" ? "concord:{msg}:x" : "concord:{ref}:x", "f", "v"});
    ExpectRefused(*pod, {"FLUSHALL"});
    ExpectRefused(*pod, {"KEYS", "*"});
    ExpectRefused(*pod, {"CONFIG", "GET", "dir"});
    ExpectRefused(*pod, {"SCRIPT", "FLUSH"});
    ExpectRefused(*pod, {"ACL", "LIST"});
    ExpectAuditUntouched();
    EXPECT_EQ(Run(*admin_, {"HGET", "concord:{dir}:agency:police/pz-1", "json"}), "{}");
    EXPECT_EQ(Run(*admin_, {"LLEN", audit::IntakeKey(workload)}), "2");  // pending + appended
  }

  static inline testing::RedisServer* server_ = nullptr;
  std::unique_ptr<redis::RedisClient> admin_;
};

TEST_F(RedisAclTest, TheDefaultUserIsOffAndEveryWorkloadHasItsOwnUser) {
  EXPECT_THAT(server_->acl_users(),
              ::testing::UnorderedElementsAre(
                  "concord-audit", "concord-directory", "concord-messaging", "concord-referrals",
                  "concord-guidelines", "concord-liaison", "concord-gateway"));
  redis::RedisConfig anonymous = server_->admin_config();
  anonymous.user.clear();
  anonymous.password.clear();
  const Status st = redis::RedisClient::Create(anonymous)->Ping();
  EXPECT_THAT(std::string(st.message()), HasSubstr("NOAUTH"));
  redis::RedisConfig wrong = server_->config("referrals");
  wrong.password = "not-the-password";
  const Status refused = redis::RedisClient::Create(wrong)->Ping();
  EXPECT_TRUE(redis::IsAuthRefused(refused)) << refused;
}

TEST_F(RedisAclTest, ACompromisedReferralsPodCannotWriteTheDirectoryOrTheAuditLog) {
  CompromisedPodIsContained("referrals", "messaging");
}

TEST_F(RedisAclTest, ACompromisedLiaisonPodCannotWriteTheDirectoryOrTheAuditLog) {
  CompromisedPodIsContained("liaison", "referrals");
}

// Test that a compromised federation gateway (the workload facing the partner network) cannot
// write the directory, another workload's keys or the audit log beyond its own intake.
TEST_F(RedisAclTest, ACompromisedGatewayPodCannotWriteTheDirectoryOrTheAuditLog) {
  CompromisedPodIsContained("gateway", "liaison");
}

TEST_F(RedisAclTest, ACompromisedMessagingPodCannotWriteTheDirectoryOrTheAuditLog) {
  CompromisedPodIsContained("messaging", "referrals");
}

// Test that the workloads that store agencies' new data (messaging, referrals, guidelines,
// liaison) may read Redis's memory with INFO, which their storage watermark needs
// (common/quota/storage_guard.h); that messaging and referrals run the commands of their quota
// buckets and caps (TIME inside a script, ZCARD), messaging those of its inboxes' acknowledged
// sets (ZMSCORE, ZSCORE); that the other workloads may not read INFO;
// and that nobody may change the memory settings.
TEST_F(RedisAclTest, TheStorageGuardsMayReadMemoryButNobodyChangesIt) {
  for (const char* w : {"messaging", "referrals"}) {
    auto c = As(w);
    EXPECT_THAT(Run(*c, {"INFO", "memory"}), HasSubstr("used_memory:")) << w;
    static const redis::Script kTime("return redis.call('TIME')");
    auto t = c->Eval(kTime, {}, {});
    EXPECT_TRUE(t.ok()) << w << ": " << t.status();
    ExpectRefused(*c, {"CONFIG", "SET", "maxmemory", "1"});
    ExpectRefused(*c, {"CONFIG", "GET", "maxmemory"});
  }
  ExpectAllowed(*As("messaging"), {"ZCARD", "concord:{msg}:uploads:police/pz-1"});
  // The inbox's acknowledged set (services/messaging/README.md "Acknowledgements"): read by
  // delivery, Load and ListInbox (ZMSCORE), IsAcknowledged (ZSCORE).
  ExpectAllowed(*As("messaging"), {"ZMSCORE", "concord:{msg}:acked:police/pz-1", "1-0", "2-0"});
  ExpectAllowed(*As("messaging"), {"ZSCORE", "concord:{msg}:acked:police/pz-1", "1-0"});
  ExpectRefused(*As("referrals"), {"ZSCORE", "concord:{msg}:acked:police/pz-1", "1-0"});
  ExpectAllowed(*As("referrals"), {"ZCARD", "concord:{ref}:drafts:police/pz-1"});
  for (const char* w : {"guidelines", "liaison"}) {
    auto c = As(w);
    EXPECT_THAT(Run(*c, {"INFO", "memory"}), HasSubstr("used_memory:")) << w;
    ExpectRefused(*c, {"CONFIG", "SET", "maxmemory", "1"});
  }
  for (const char* w : {"directory", "audit"}) {
    auto c = As(w);
    ExpectRefused(*c, {"INFO", "memory"});
    ExpectRefused(*c, {"CONFIG", "SET", "maxmemory", "1"});
  }
}

// Test that the guidelines and liaison workloads charge their quota buckets (publish, ack;
// liaison_request, jit_write) inside their scripts: TIME, HMGET, HSET and PEXPIRE of a bucket
// under their own hash tag (common/quota/token_bucket.h), refused under another workload's.
TEST_F(RedisAclTest, GuidelinesAndLiaisonChargeTheirQuotaBucketsInTheirScripts) {
  static const redis::Script kCharge(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(0)
if refused ~= 0 then return 'refused' end
return 'charged'
)lua");
  const AgencyId police{"concord.test", AgencyType::kPolice, "pz-1"};
  struct Workload {
    const char* name;
    const char* tag;
    quota::Quota bucket;
  };
  for (const Workload& w : {Workload{"guidelines", "gl", quota::Quota::kPublish},
                            Workload{"guidelines", "gl", quota::Quota::kAck},
                            Workload{"liaison", "lia", quota::Quota::kLiaisonRequest},
                            Workload{"liaison", "lia", quota::Quota::kJitWrite}}) {
    const std::vector<quota::Charge> charges = {
        quota::Charge{w.bucket, police, quota::BucketSpec{10, 1}, 1}};
    std::vector<std::string> keys, args;
    quota::AppendTrailingCharges(w.tag, charges, keys, args);
    auto c = As(w.name);
    auto r = c->Eval(kCharge, keys, args);
    ASSERT_TRUE(r.ok()) << w.name << ": " << r.status();
    EXPECT_EQ(r->str, "charged") << w.name;
    // Another workload's buckets stay out of reach.
    std::vector<std::string> other_keys, other_args;
    quota::AppendTrailingCharges("msg", charges, other_keys, other_args);
    EXPECT_FALSE(c->Eval(kCharge, other_keys, other_args).ok()) << w.name;
  }
}

// The guidelines workload (issue 11): its own {gl} keys and feed channel, the directory read-only
// (publisher right, keys, audiences), its own audit intake; nothing of the others.
TEST_F(RedisAclTest, ACompromisedGuidelinesPodCannotWriteTheDirectoryOrTheAuditLog) {
  CompromisedPodIsContained("guidelines", "messaging");
  auto pod = As("guidelines");
  ExpectAllowed(*pod, {"HSET", "concord:{gl}:v:g:1", "c", "x"});
  ExpectAllowed(*pod, {"XADD", "concord:{gl}:feed", "*", "k", "v"});
  ExpectAllowed(*pod, {"PUBLISH", "concord:{gl}:events", "1-0"});
  ExpectAllowed(*pod, {"SMEMBERS", "concord:{dir}:idx:type:police"});
  ExpectAllowed(*pod, {"RPUSH", audit::IntakeKey("guidelines"), "appended"});
  ExpectRefused(*pod, {"RPUSH", audit::IntakeKey("referrals"), "forged"});
  ExpectRefused(*pod, {"HSET", "concord:{msg}:m:1", "env", "x"});
  ExpectRefused(*pod, {"HSET", "concord:{ref}:case:1", "c", "x"});
  ExpectRefused(*pod, {"PUBLISH", "concord:{msg}:deliveries", "x"});
  ExpectRefused(*pod, {"FLUSHALL"});
  ExpectAuditUntouched();
}

TEST_F(RedisAclTest, TheDirectoryWritesOnlyTheDirectory) {
  auto directory = As("directory");
  ExpectAllowed(*directory, {"HSET", "concord:{dir}:agency:police/pz-2", "json", "{}"});
  ExpectAllowed(*directory, {"PUBLISH", "concord:directory:events", "reload"});
  ExpectAllowed(*directory, {"RPUSH", audit::IntakeKey("directory"), "appended"});
  ExpectRefused(*directory, {"HSET", audit::RecordsKey(), "2", "forged"});
  ExpectRefused(*directory, {"LTRIM", audit::IntakeKey("directory"), "1", "-1"});
  ExpectRefused(*directory, {"HSET", "concord:{msg}:m:1", "env", "x"});
  ExpectRefused(*directory, {"HSET", "concord:{ref}:case:1", "c", "x"});
  ExpectAuditUntouched();
}

TEST_F(RedisAclTest, TheAuditUserOwnsTheChainAndReadsButNeverWritesTheDirectory) {
  auto auditor = As("audit");
  ExpectAllowed(*auditor, {"LRANGE", audit::IntakeKey("referrals"), "0", "-1"});
  ExpectAllowed(*auditor, {"HSET", audit::RecordsKey(), "2", "r2"});
  ExpectAllowed(*auditor, {"SMEMBERS", "concord:{dir}:suspended"});
  ExpectRefused(*auditor, {"SADD", "concord:{dir}:suspended", "police/pz-1"});
  ExpectRefused(*auditor, {"HSET", "concord:{msg}:m:1", "env", "x"});
  ExpectRefused(*auditor, {"PUBLISH", "concord:directory:events", "reload"});
  ExpectRefused(*auditor, {"FLUSHALL"});
}

// Test that the audit user charges the read bucket of Query under its own tag (TIME, and PEXPIRE
// granted by a selector on concord:{audit}:quota:* alone) and can expire nothing else: not a
// record, the head, a checkpoint, an index or an intake.
TEST_F(RedisAclTest, TheAuditUserChargesItsReadBucketButExpiresNoRecord) {
  auto auditor = As("audit");
  const AgencyId reviewer{"concord.test", AgencyType::kAdmin, "ops"};
  const quota::Charge charge{quota::Quota::kRead, reviewer, quota::BucketSpec{500, 5}, 1};
  const std::string key = quota::BucketKey("audit", charge);
  ASSERT_TRUE(quota::ChargeAlone(*auditor, key, charge).ok());
  EXPECT_GT(std::stoll(Run(*admin_, {"PTTL", key})), 0);
  ExpectAllowed(*auditor, {"PEXPIRE", key, "60000"});
  for (const std::string& k :
       {audit::RecordsKey(), audit::HeadKey(), audit::CheckpointsKey(), audit::CheckpointIndexKey(),
        audit::ObjectIndexKey("x"), audit::IntakeKey("referrals")}) {
    ExpectRefused(*auditor, {"PEXPIRE", k, "1"});
  }
  ExpectRefused(*auditor, {"HSET", "concord:{msg}:quota:read:admin/ops", "t", "1"});
  ExpectAuditUntouched();
}

// Test that every workload may subscribe to the directory events (its revocation cache) and
// only the owners publish.
TEST_F(RedisAclTest, EveryWorkloadSubscribesToTheDirectoryEvents) {
  for (const char* w : {"directory", "audit", "messaging", "referrals", "guidelines"}) {
    std::atomic<bool> connected{false};
    redis::Subscriber sub(
        server_->config(w), {"concord:directory:events"},
        [](const std::string&, const std::string&) {}, [&] { connected = true; });
    for (int i = 0; i < 500 && !connected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(connected) << w;
  }
}

// The audit user does its job end to end: chain what a workload appended, sign a checkpoint.
TEST_F(RedisAclTest, TheAuditUserChainsTheIntakesAndSignsACheckpoint) {
  server_->FlushAll();
  testing::FakeClock clock;
  const audit::AuditKey key = *audit::AuditKey::FromBytes(std::string(32, 'q'));
  const crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  auto referrals = As("referrals");
  audit::IntakeAuditSink sink(*referrals, key, clock, "referrals");
  audit::AuditEvent event;
  event.agency = AgencyId{"concord.test", AgencyType::kPolice, "pz"};
  event.officer = "o";
  event.operation = audit::Operation::kCollection;
  event.method = "/concord.referrals.v1.Referrals/Submit";
  event.outcome = "OK";
  event.time = clock.Now();
  for (int i = 0; i < 4; ++i) {
    event.object = "case:" + std::to_string(i);
    ASSERT_TRUE(sink.Append(event).ok());
  }
  // A record messaging's send script appended to its slot intake (as the messaging user).
  auto messaging = As("messaging");
  audit::IntakeAuditSink messaging_sink(*messaging, key, clock, "messaging");
  event.object = "message:m-1";
  auto entry = messaging_sink.SealEntry(event);
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(messaging->Command({"RPUSH", audit::SlotIntakeKey("msg"), *entry}).ok());
  auto auditor = As("audit");
  audit::RedisAuditStore store(*auditor);
  audit::AuditLog log(store, key, signing, clock);
  audit::AuditIngester ingester(
      store, key, clock, nullptr,
      audit::IngesterOptions{
          .workloads = {"directory", "audit", "messaging", "referrals", "guidelines"},
          .trust_domain = "concord.test",
          .batch = 256,
          .poll_interval = absl::Seconds(1),
          .slot_intakes = audit::SlotIntakes()});
  auto chained = ingester.IngestPending();
  ASSERT_TRUE(chained.ok()) << chained.status();
  EXPECT_EQ(*chained, 5u);
  EXPECT_EQ(Run(*admin_, {"LLEN", audit::SlotIntakeKey("msg")}), "0");  // trimmed by the audit user
  auto cp = log.CreateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->seq, 5u);
  auto report = log.Verify(0, 0);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->result.ok) << report->result.reason;
}

}  // namespace
}  // namespace concord
