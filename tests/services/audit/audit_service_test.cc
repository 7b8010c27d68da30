// AuditService in-process over real mTLS (TestPki certificates, ServerRunner) with a real
// redis-server: Query (paged, audited itself), Verify (intact and tampered), checkpoints, and
// request validation. Authorization is the central policy table's job and is not wired here.
#include "services/audit/audit_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>
#include <vector>

#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "common/metrics/metrics.h"
#include "common/quota/token_bucket.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/tls/tls.h"
#include "concord/audit/v1/audit.grpc.pb.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"

namespace concord::audit {
namespace {

using ::concord::testing::FakeClock;
using ::concord::testing::RedisServer;
using ::concord::testing::TestPki;
using ::testing::HasSubstr;

class AuditServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    redis_ = redis::RedisClient::Create(redis_server_->config());  // the audit ACL user
    admin_ = redis::RedisClient::Create(redis_server_->admin_config());
    workload_redis_ = redis::RedisClient::Create(redis_server_->config("messaging"));
    // The records under test come from a workload's intake; the service's own (its queries)
    // from the audit workload's, as in production.
    sink_ = std::make_unique<IntakeAuditSink>(*workload_redis_, key_, clock_, "messaging");
    self_sink_ = std::make_unique<IntakeAuditSink>(*redis_, key_, clock_, "audit");
    store_ = std::make_unique<RedisAuditStore>(*redis_);
    log_ = std::make_unique<AuditLog>(*store_, key_, signing_key_, clock_);
    ingester_ = std::make_unique<AuditIngester>(
        *store_, key_, clock_, nullptr,
        IngesterOptions{.workloads = {"directory", "audit", "messaging", "referrals"},
                        .trust_domain = "concord.test",
                        .batch = 256,
                        .poll_interval = absl::Milliseconds(500)});
    // The read bucket of Query, charged by the audit ACL user as in production.
    auto table = quota::QuotaTable::Defaults().WithOverrides(
        "admin.read=500/0.001;admin.checkpoint=3/0.001");
    ASSERT_TRUE(table.ok()) << table.status();
    quotas_ = std::make_unique<quota::QuotaChecker>(*table, metrics_, clock_);
    reads_ = std::make_unique<quota::ReadMeter>(quotas_.get(), redis_.get(), "audit");
    checkpoints_ = std::make_unique<quota::ReadMeter>(quotas_.get(), redis_.get(), "audit",
                                                      quota::Quota::kCheckpoint);
    service_ = std::make_unique<AuditService>(*log_, self_sink_.get(), ingester_.get(),
                                              reads_.get(), quotas_.get(), checkpoints_.get());

    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.health_address = "";
    options.metrics_address = "";
    options.tls = pki_.ServerTls();
    options.handle_signals = false;
    runner_ = std::make_unique<ServerRunner>(options, metrics_, nullptr);
    runner_->AddService(service_.get());
    Status started = runner_->Start();
    ASSERT_TRUE(started.ok()) << started;

    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(runner_->port()),
        MakeChannelCredentials(pki_.AgencyTls(AgencyType::kAdmin, "ops")), args);
    stub_ = v1::Audit::NewStub(channel);
  }

  // A stub of another agency (the coordination unit), on its own connection.
  std::unique_ptr<v1::Audit::Stub> CoordinationUnitStub() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::Audit::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(runner_->port()),
        MakeChannelCredentials(pki_.AgencyTls(AgencyType::kCoordinationUnit, "icu")), args));
  }

  void TearDown() override {
    if (runner_) runner_->Shutdown();
  }

  void Append(int n, const std::string& object) {
    for (int i = 0; i < n; ++i) {
      clock_.Advance(absl::Seconds(1));
      AuditEvent e;
      e.agency = {"concord.test", AgencyType::kMagistrate, "parquet-bxl"};
      e.officer = "m-7";
      e.operation = Operation::kDisclosure;
      e.object = object;
      e.method = "/concord.messaging.v1.Messaging/Send";
      e.justification = "referral";
      e.recipients = {"police/pz-1"};
      e.outcome = "OK";
      e.time = clock_.Now();
      ASSERT_TRUE(sink_->Append(e).ok());
    }
  }

  static void Prepare(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("concord-officer", "  auditor-3 ");
    ctx.AddMetadata("concord-justification", "quarterly lawfulness review");
  }

  // Verify of the whole log through `stub`, with Prepare's metadata.
  static grpc::Status CallVerify(v1::Audit::Stub& stub, v1::VerifyResponse* reply) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    return stub.Verify(&ctx, v1::VerifyRequest(), reply);
  }

  // Every record there is: chained, or still waiting in the audit workload's intake.
  uint64_t StoredRecords() {
    auto head = store_->GetHead();
    auto pending = admin_->Command({"LLEN", audit::IntakeKey("audit")});
    EXPECT_TRUE(head.ok() && pending.ok());
    return head.ok() && pending.ok() ? head->seq + static_cast<uint64_t>(pending->integer) : 0;
  }

  TestPki pki_;
  std::unique_ptr<RedisServer> redis_server_;
  AuditKey key_ = *AuditKey::FromBytes(std::string(32, 's'));
  crypto::Ed25519PrivateKey signing_key_ = crypto::Ed25519PrivateKey::Generate();
  FakeClock clock_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<redis::RedisClient> admin_;  // tampering: no workload may do it
  std::unique_ptr<redis::RedisClient> workload_redis_;
  std::unique_ptr<IntakeAuditSink> sink_;
  std::unique_ptr<IntakeAuditSink> self_sink_;
  std::unique_ptr<AuditIngester> ingester_;
  std::unique_ptr<RedisAuditStore> store_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<AuditService> service_;
  metrics::Metrics metrics_;
  std::unique_ptr<quota::QuotaChecker> quotas_;
  std::unique_ptr<quota::ReadMeter> reads_;
  std::unique_ptr<quota::ReadMeter> checkpoints_;
  std::unique_ptr<ServerRunner> runner_;
  std::unique_ptr<v1::Audit::Stub> stub_;
};

TEST_F(AuditServiceTest, QueryReturnsDecodedRecordsPagedAndIsItselfAudited) {
  Append(5, "message:m1");
  Append(2, "message:m2");
  v1::QueryRequest req;
  req.set_object("message:m1");
  req.mutable_page()->set_page_size(3);
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::QueryResponse reply;
  grpc::Status s = stub_->Query(&ctx, req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(reply.records_size(), 3);
  const v1::AuditRecord& r = reply.records(0);
  EXPECT_EQ(r.seq(), 5u);
  EXPECT_EQ(r.agency().type(), common::v1::AGENCY_TYPE_MAGISTRATE);
  EXPECT_EQ(r.agency().id(), "parquet-bxl");
  EXPECT_EQ(r.operation(), v1::OPERATION_DISCLOSURE);
  EXPECT_EQ(r.justification(), "referral");
  EXPECT_THAT(r.recipients(), ::testing::ElementsAre("police/pz-1"));
  EXPECT_EQ(r.hash().size(), 32u);
  EXPECT_EQ(r.prev_hash().size(), 32u);
  // Provenance: the intake the record came from. Only appended (never chained) by the
  // workload; the query found it chained (read-your-writes).
  EXPECT_EQ(r.source(), "messaging");
  EXPECT_FALSE(reply.next_page_token().empty());

  req.mutable_page()->set_page_token(reply.next_page_token());
  grpc::ClientContext ctx2;
  Prepare(ctx2);
  v1::QueryResponse reply2;
  ASSERT_TRUE(stub_->Query(&ctx2, req, &reply2).ok());
  ASSERT_EQ(reply2.records_size(), 2);
  EXPECT_EQ(reply2.records(1).seq(), 1u);
  EXPECT_TRUE(reply2.next_page_token().empty());

  // Both queries were recorded as consultations of the audit log by the admin's officer.
  v1::QueryRequest self;
  self.set_object("audit-log");
  grpc::ClientContext ctx3;
  Prepare(ctx3);
  v1::QueryResponse reply3;
  ASSERT_TRUE(stub_->Query(&ctx3, self, &reply3).ok());
  ASSERT_EQ(reply3.records_size(), 2);  // this query is recorded after it has been answered
  EXPECT_EQ(reply3.records(0).agency().type(), common::v1::AGENCY_TYPE_ADMIN);
  EXPECT_EQ(reply3.records(0).agency().id(), "ops");
  EXPECT_EQ(reply3.records(0).officer(), "auditor-3");
  EXPECT_EQ(reply3.records(0).justification(), "quarterly lawfulness review");
  EXPECT_EQ(reply3.records(0).operation(), v1::OPERATION_CONSULTATION);
  EXPECT_EQ(reply3.records(0).outcome(), "OK");
  EXPECT_EQ(reply3.records(0).source(), "audit");
}

// Test that Query, which writes a consultation record, costs one token of the caller's read
// bucket, charged by the audit workload's own Redis user (its ACL may PEXPIRE only its quota
// keys); beyond the bucket it is refused (RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, limit read) before
// anything is read, and a flood of refusals writes one record.
TEST_F(AuditServiceTest, QueryIsChargedTheReadBucketAndAFloodIsRecordedOnce) {
  Append(3, "message:m-1");
  const std::string bucket = quota::BucketKey("audit", quota::Quota::kRead,
                                              AgencyId{"concord.test", AgencyType::kAdmin, "ops"});
  v1::QueryRequest req;
  req.set_object("message:m-1");
  v1::QueryResponse reply;
  {
    grpc::ClientContext ctx;
    Prepare(ctx);
    ASSERT_TRUE(stub_->Query(&ctx, req, &reply).ok());
  }
  EXPECT_EQ(reply.records_size(), 3);
  auto tokens = admin_->Command({"HGET", bucket, "t"});
  ASSERT_TRUE(tokens.ok() && !tokens->is_nil()) << tokens.status();
  EXPECT_NEAR(std::stod(tokens->str), 499, 0.1);
  auto ttl = admin_->Command({"PTTL", bucket});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);  // the bucket expires (PEXPIRE inside the script was allowed)

  ASSERT_TRUE(admin_->Command({"HSET", bucket, "t", "0"}).ok());
  const std::string intake = audit::IntakeKey("audit");
  auto before = admin_->Command({"LLEN", intake});
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    reply.Clear();
    const grpc::Status s = stub_->Query(&ctx, req, &reply);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i << s.error_message();
    EXPECT_EQ(ReasonMetadataOf(FromGrpcStatus(s)).at("limit"), "read");
    EXPECT_EQ(reply.records_size(), 0);
  }
  auto after = admin_->Command({"LLEN", intake});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->integer, before->integer + 1);  // three refusals, one record
}

TEST_F(AuditServiceTest, QueryByAgencyAndInvalidRequests) {
  Append(3, "message:m1");
  v1::QueryRequest req;
  req.mutable_agency()->set_type(common::v1::AGENCY_TYPE_MAGISTRATE);
  req.mutable_agency()->set_id("parquet-bxl");
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::QueryResponse reply;
  ASSERT_TRUE(stub_->Query(&ctx, req, &reply).ok());
  EXPECT_EQ(reply.records_size(), 3);

  v1::QueryRequest bad;
  bad.mutable_page()->set_page_token("not-a-token");
  grpc::ClientContext ctx2;
  Prepare(ctx2);
  grpc::Status s = stub_->Query(&ctx2, bad, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(s.error_details().empty());  // BadRequest field violations attached

  v1::QueryRequest bad_agency;
  bad_agency.mutable_agency()->set_id("Bad Id");
  grpc::ClientContext ctx3;
  Prepare(ctx3);
  EXPECT_EQ(stub_->Query(&ctx3, bad_agency, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AuditServiceTest, VerifyReportsIntactAndTamperedLogs) {
  Append(8, "message:m1");
  {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::VerifyResponse reply;
    ASSERT_TRUE(stub_->Verify(&ctx, v1::VerifyRequest(), &reply).ok());
    EXPECT_TRUE(reply.ok()) << reply.reason();
    EXPECT_EQ(reply.records_checked(), 8u);
    EXPECT_EQ(reply.first_bad_seq(), 0u);
    EXPECT_EQ(reply.head_seq(), 8u);
  }
  ASSERT_TRUE(admin_->Command({"HDEL", RecordsKey(), "6"}).ok());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::VerifyResponse reply;
  ASSERT_TRUE(stub_->Verify(&ctx, v1::VerifyRequest(), &reply).ok());
  EXPECT_FALSE(reply.ok());
  EXPECT_EQ(reply.first_bad_seq(), 6u);
  EXPECT_EQ(reply.records_checked(), 5u);
  EXPECT_THAT(reply.reason(), HasSubstr("missing"));
}

TEST(AuditServiceVerifyCost, OneReadTokenPerTenThousandRecordsAtLeastOne) {
  EXPECT_EQ(AuditService::VerifyCost(0), 1);
  EXPECT_EQ(AuditService::VerifyCost(1), 1);
  EXPECT_EQ(AuditService::VerifyCost(10'000), 1);
  EXPECT_EQ(AuditService::VerifyCost(10'001), 2);
  // The smallest `read` burst a table may set (500) still admits a range of 5 million records.
  EXPECT_EQ(AuditService::VerifyCost(5'000'000), 500);
}

// Test that Verify, which reads every record of its range, is charged the caller's read bucket
// (here 3 records: one token) before any record is read, and that beyond the bucket it is refused
// (RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, limit read) with nothing verified, a flood of refusals
// writing one record.
TEST_F(AuditServiceTest, VerifyIsChargedTheReadBucketAndRefusedBeyondIt) {
  Append(3, "message:m-1");
  const std::string bucket = quota::BucketKey("audit", quota::Quota::kRead,
                                              AgencyId{"concord.test", AgencyType::kAdmin, "ops"});
  {
    v1::VerifyResponse reply;
    ASSERT_TRUE(CallVerify(*stub_, &reply).ok());
    EXPECT_TRUE(reply.ok());
    EXPECT_EQ(reply.records_checked(), 3u);
  }
  auto tokens = admin_->Command({"HGET", bucket, "t"});
  ASSERT_TRUE(tokens.ok() && !tokens->is_nil()) << tokens.status();
  EXPECT_NEAR(std::stod(tokens->str), 499, 0.1);

  ASSERT_TRUE(admin_->Command({"HSET", bucket, "t", "0"}).ok());
  for (int i = 0; i < 3; ++i) {
    v1::VerifyResponse reply;
    const grpc::Status s = CallVerify(*stub_, &reply);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i << s.error_message();
    EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "QUOTA_EXCEEDED");
    EXPECT_EQ(ReasonMetadataOf(FromGrpcStatus(s)).at("limit"), "read");
    EXPECT_EQ(reply.records_checked(), 0u);
  }
  // The three refusals added one record (a consultation of the audit log with their outcome); the
  // Verify that passed none.
  EXPECT_EQ(StoredRecords(), 4u);
}

// Test that one agency runs at most one Verify at a time on a replica (cap `verifications`): with
// Redis frozen (SIGSTOP) the verifications in flight wait, and the admin's concurrent ones are
// refused at once (RESOURCE_EXHAUSTED, LIMIT_REACHED, limit verifications) while another agency's
// is not; the slots are given back when the calls end.
TEST_F(AuditServiceTest, OneVerifyPerAgencyRunsAtATimeOnAReplica) {
  Append(2, "message:m-1");
  auto info = admin_->Command({"INFO", "server"});
  ASSERT_TRUE(info.ok());
  const size_t at = info->str.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  const pid_t pid = std::stoi(info->str.substr(at + 11));
  auto other_stub = CoordinationUnitStub();

  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  std::vector<grpc::Status> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([this, &results, i] {
      v1::VerifyResponse reply;
      results[i] = CallVerify(*stub_, &reply);
    });
  }
  v1::VerifyResponse other_reply;
  const grpc::Status other = CallVerify(*other_stub, &other_reply);
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(kill(pid, SIGCONT), 0);

  int refused = 0;
  for (const grpc::Status& s : results) {
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused;
      EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "LIMIT_REACHED");
      EXPECT_EQ(ReasonMetadataOf(FromGrpcStatus(s)).at("limit"), "verifications");
      EXPECT_THAT(s.error_message(), HasSubstr("at most 1 audit verifications"));
    } else {
      // The one that ran waited for the frozen Redis.
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_LE(refused, 3);
  // The coordination unit's verification was not counted against the admin's.
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNAVAILABLE) << other.error_message();

  // Redis answers again and no slot was kept: both agencies verify (once the Redis client has
  // reconnected: UNAVAILABLE meanwhile, never the cap; bounded, its backoff is at most 2 s).
  for (v1::Audit::Stub* stub : {stub_.get(), other_stub.get()}) {
    grpc::Status s;
    v1::VerifyResponse reply;
    for (int i = 0; i < 100; ++i) {
      reply.Clear();
      s = CallVerify(*stub, &reply);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(reply.ok()) << reply.reason();
  }
}

TEST_F(AuditServiceTest, CreateAndGetCheckpoint) {
  {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::GetCheckpointResponse reply;
    EXPECT_EQ(stub_->GetCheckpoint(&ctx, v1::GetCheckpointRequest(), &reply).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::CreateCheckpointResponse reply;
    EXPECT_EQ(stub_->CreateCheckpoint(&ctx, v1::CreateCheckpointRequest(), &reply).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  Append(4, "message:m1");
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::CreateCheckpointResponse created;
  ASSERT_TRUE(stub_->CreateCheckpoint(&ctx, v1::CreateCheckpointRequest(), &created).ok());
  EXPECT_EQ(created.checkpoint().seq(), 4u);
  EXPECT_EQ(created.checkpoint().public_key(), signing_key_.PublicKey().Raw());

  grpc::ClientContext ctx2;
  Prepare(ctx2);
  v1::GetCheckpointResponse got;
  ASSERT_TRUE(stub_->GetCheckpoint(&ctx2, v1::GetCheckpointRequest(), &got).ok());
  EXPECT_EQ(got.checkpoint().SerializeAsString(), created.checkpoint().SerializeAsString());
  EXPECT_EQ(got.head_seq(), 4u);

  // An outside party can check the checkpoint with nothing but the public key.
  auto pub = crypto::Ed25519PublicKey::FromRaw(got.checkpoint().public_key());
  ASSERT_TRUE(pub.ok());
  Checkpoint cp{got.checkpoint().seq(), got.checkpoint().head_hash(),
                absl::FromUnixSeconds(got.checkpoint().time().seconds()) +
                    absl::Nanoseconds(got.checkpoint().time().nanos()),
                got.checkpoint().signature()};
  EXPECT_TRUE(VerifyCheckpointSignature(*pub, cp));

  grpc::ClientContext ctx3;
  Prepare(ctx3);
  v1::VerifyResponse verified;
  ASSERT_TRUE(stub_->Verify(&ctx3, v1::VerifyRequest(), &verified).ok());
  EXPECT_TRUE(verified.ok());
  EXPECT_EQ(verified.checkpoints_checked(), 1u);
  EXPECT_EQ(verified.last_checkpoint().seq(), 4u);
}

// Test that CreateCheckpoint, which signs and stores a checkpoint (and exports its file) for
// good, costs one token of the caller's checkpoint bucket (here 3) before anything is signed:
// beyond it RESOURCE_EXHAUSTED, QUOTA_EXCEEDED (limit checkpoint), and no checkpoint is made,
// however far the head has moved.
TEST_F(AuditServiceTest, CreateCheckpointIsChargedItsBucketAndRefusedBeyondIt) {
  auto create = [&](v1::CreateCheckpointResponse* reply) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    return stub_->CreateCheckpoint(&ctx, v1::CreateCheckpointRequest(), reply);
  };
  for (int i = 1; i <= 3; ++i) {
    Append(1, "message:m1");
    v1::CreateCheckpointResponse reply;
    const grpc::Status s = create(&reply);
    ASSERT_TRUE(s.ok()) << i << s.error_message();
    EXPECT_EQ(reply.checkpoint().seq(), static_cast<uint64_t>(i));
  }
  Append(1, "message:m1");
  const uint64_t before = StoredRecords();
  v1::CreateCheckpointResponse refused;
  const grpc::Status s = create(&refused);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(FromGrpcStatus(s)).at("limit"), "checkpoint");
  EXPECT_FALSE(refused.has_checkpoint());
  auto latest = log_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->seq, 3u);  // the head is at 4: nothing was signed
  // The refusal is recorded (an alteration of the audit log), once a minute per agency.
  EXPECT_EQ(StoredRecords(), before + 1);
  ASSERT_EQ(create(&refused).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(StoredRecords(), before + 1);
}

TEST_F(AuditServiceTest, RedisDownIsUnavailable) {
  redis_server_->Stop();
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::VerifyResponse reply;
  EXPECT_EQ(stub_->Verify(&ctx, v1::VerifyRequest(), &reply).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(QuerySpecFromProto, ConvertsSelectorsTimeRangeAndPaging) {
  v1::QueryRequest req;
  req.mutable_agency()->set_type(common::v1::AGENCY_TYPE_POLICE);
  req.mutable_agency()->set_id("pz-1");
  req.mutable_time_range()->mutable_from()->set_seconds(100);
  req.mutable_page()->set_page_size(7);
  req.mutable_page()->set_page_token("42");
  auto spec = QuerySpecFromProto(req);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->kind, QuerySpec::Kind::kAgency);
  EXPECT_EQ(spec->agency.Key(), "police/pz-1");
  EXPECT_EQ(spec->from, absl::FromUnixSeconds(100));
  EXPECT_FALSE(spec->to.has_value());
  EXPECT_EQ(spec->page_size, 7u);
  EXPECT_EQ(spec->before_seq, 42u);

  v1::QueryRequest none;
  ASSERT_TRUE(QuerySpecFromProto(none).ok());
  EXPECT_EQ(QuerySpecFromProto(none)->kind, QuerySpec::Kind::kAll);
}

TEST(QuerySpecFromProto, RejectsInvalidFieldsWithTheirPaths) {
  v1::QueryRequest req;
  req.set_object("");
  req.mutable_time_range()->mutable_from()->set_seconds(200);
  req.mutable_time_range()->mutable_to()->set_seconds(100);
  req.mutable_page()->set_page_size(-1);
  req.mutable_page()->set_page_token("0");
  auto spec = QuerySpecFromProto(req);
  ASSERT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(spec.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("object", "time_range", "page.page_size",
                                                      "page.page_token"));
}

}  // namespace
}  // namespace concord::audit
