// Subscribe on gRPC's callback API (services/messaging/messaging_service.cc SubscribeReactor, fed
// by the replica's DeliveryPump), through real mTLS and a real redis-server:
//   * many streams of several agencies woken by the same notifications each get every message
//     of their agency exactly once per agency (terminals share an inbox);
//   * an idle stream delivers as soon as the notification arrives, with one read (one script
//     call), without waiting for its poll;
//   * a stream cancelled by its client while its read is in flight (Redis frozen) ends cleanly:
//     the late reply finds the reactor alive and writes nothing; nothing is lost;
//   * a stream that waits (no read, no write in flight) ends UNAUTHENTICATED / AGENCY_SUSPENDED
//     as soon as the registry's watcher sees the suspension;
//   * a stream whose read fails because Redis does not answer ends UNAVAILABLE;
//   * announcements heard while a read is in flight cost no further read when it took them;
//   * a stream reads its next batch while the last write of the batch before goes out, and a
//     client that does not read makes it hold no more than that one batch.
// Run under ThreadSanitizer (label tsan) and AddressSanitizer.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "common/redis/subscriber.h"
#include "common/server/open_calls_interceptor.h"
#include "common/status/grpc_status.h"
#include "common/tls/tls.h"
#include "services/messaging/agency_keys.h"
#include "services/messaging/mailbox.h"
#include "services/messaging/messaging_service.h"
#include "services/messaging/redis_message_store.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"
#include "tests/support/wait.h"

namespace concord::messaging {
namespace {

using ::concord::testing::ThreadsOfThisProcess;

AgencyId Agency(AgencyType type, std::string id) { return AgencyId{"concord.test", type, id}; }

const AgencyId kSender = Agency(AgencyType::kPolice, "pz-antwerp");

class Revocations final : public authz::RevocationView {
 public:
  bool IsSuspended(const AgencyId& agency) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return suspended_.contains(agency.Key());
  }
  bool IsSerialRevoked(std::string_view) const override { return false; }
  void Suspend(const AgencyId& agency) {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_.insert(agency.Key());
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> suspended_;
};

// A sealed-looking envelope (the store does not verify; the stream writes what it stores).
Envelope MakeEnvelope(const std::string& id, const std::vector<AgencyId>& recipients,
                      size_t body_bytes = 0) {
  const absl::Time now = absl::Now();
  Envelope e;
  e.message_id = id;
  e.sender = kSender;
  e.recipients = recipients;
  e.thread_id = "thread-1";
  e.kind = MessageKind::kInformation;
  e.classification = Classification::kRestricted;
  e.handling_code = HandlingCode::kH1;
  e.created_at = now;
  e.expires_at = now + absl::Hours(1);
  e.body.nonce = std::string(12, 'n');
  e.body.ciphertext = body_bytes == 0 ? "sealed-bytes-only" : std::string(body_bytes, 'c');
  for (const AgencyId& r : e.recipients) {
    e.body.keys.push_back(
        {r.Key(), std::string(32, 'e'), std::string(12, 'k'), std::string(48, 'w')});
  }
  e.signature = std::string(64, 's');
  return e;
}

// One client stream read on its own thread; what it received and how it ended.
class Stream {
 public:
  Stream(std::shared_ptr<grpc::Channel> channel, const std::string& terminal)
      : stub_(v1::Messaging::NewStub(std::move(channel))) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::SubscribeRequest req;
    req.set_terminal_id(terminal);
    reader_ = stub_->Subscribe(&ctx_, req);
    thread_ = std::thread([this] {
      v1::Delivery d;
      while (reader_->Read(&d)) {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(d);
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      ended_ = true;
    });
  }
  ~Stream() {
    ctx_.TryCancel();
    thread_.join();
  }
  void Cancel() { ctx_.TryCancel(); }
  std::vector<v1::Delivery> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  bool ended() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  grpc::Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  // Polls (bounded) until `done` holds.
  template <typename F>
  static bool WaitUntil(F done, absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

 private:
  std::unique_ptr<v1::Messaging::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<v1::Delivery> received_;
  grpc::Status status_;
  bool ended_ = false;
};

// A callback-API client stream: no thread of its own either.
class AsyncStream final : public grpc::ClientReadReactor<v1::Delivery> {
 public:
  AsyncStream(v1::Messaging::Stub* stub, const std::string& terminal, std::atomic<int>& received)
      : received_(received) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    req_.set_terminal_id(terminal);
    stub->async()->Subscribe(&ctx_, &req_, this);
    StartRead(&delivery_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    received_.fetch_add(1);
    StartRead(&delivery_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void Cancel() { ctx_.TryCancel(); }
  bool WaitDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
  }

 private:
  grpc::ClientContext ctx_;
  v1::SubscribeRequest req_;
  v1::Delivery delivery_;
  std::atomic<int>& received_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

class SubscribeReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = testing::RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    redis_ = redis::RedisClient::Create(redis_server_->config());
    admin_ = redis::RedisClient::Create(redis_server_->admin_config());
    async_redis_ = redis::AsyncRedisClient::Create(redis_server_->config());
    store_ = std::make_unique<RedisMessageStore>(
        *redis_, RedisMessageStoreOptions{.trust_domain = "concord.test",
                                          .async_redis = async_redis_.get()});
    keys_ = std::make_unique<RedisAgencyKeys>(*redis_, SystemClock::Get());
    mailbox_ = std::make_unique<Mailbox>(*store_, *keys_, revocations_, SystemClock::Get(),
                                         MailboxOptions{.trust_domain = "concord.test",
                                                        .limits = EnvelopeLimits{},
                                                        .visibility_timeout = VisibilityTimeout()});
    messaging_metrics_ = std::make_unique<MessagingMetrics>(metrics_);
    open_calls_ = std::make_unique<server::OpenCalls>(revocations_, metrics_, SystemClock::Get());
    service_ = std::make_unique<MessagingService>(*mailbox_, audit_, notifier_, *messaging_metrics_,
                                                  *open_calls_, quotas_, SystemClock::Get(),
                                                  ServiceOptions());
    subscriber_ = std::make_unique<redis::Subscriber>(
        redis_server_->config(), std::vector<std::string>{std::string(kDeliveriesChannel)},
        [this](const std::string&, const std::string& m) {
          if (forward_notifications_.load()) return notifier_.Notify(m);
          std::lock_guard<std::mutex> lock(held_mu_);
          held_.push_back(m);
        },
        [this] { notifier_.NotifyAll(); });

    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", MakeServerCredentials(pki_.ServerCert().tls()), &port_);
    builder.RegisterService(service_.get());
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(server::MakeOpenCallsInterceptorFactory(*open_calls_));
    builder.experimental().SetInterceptorCreators(std::move(f));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  virtual absl::Duration VisibilityTimeout() const { return absl::Seconds(30); }

  // A long poll: every delivery in these tests comes from a notification.
  virtual MessagingServiceOptions ServiceOptions() const {
    return MessagingServiceOptions{.poll_interval = absl::Hours(1)};
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    notifier_.NotifyAll();
  }

  std::shared_ptr<grpc::Channel> Channel(const AgencyId& agency) {
    return grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_),
        MakeChannelCredentials(pki_.AgencyCert(agency.type, agency.id).tls()));
  }

  void Store(const std::string& id, const std::vector<AgencyId>& recipients,
             size_t body_bytes = 0) {
    auto sent = store_->Send(kSender, MakeEnvelope(id, recipients, body_bytes), absl::Now());
    ASSERT_TRUE(sent.ok()) << sent.status();
  }

  // The server-side streams open (deregistered once the reactor finished).
  bool WaitForOpenStreams(size_t n) {
    return Stream::WaitUntil([&] { return open_calls_->open_streams() == n; }, absl::Seconds(10));
  }

  // Calls of `command` (lower case) so far, from INFO commandstats.
  int64_t Calls(const std::string& command) {
    auto r = admin_->Command({"INFO", "commandstats"});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    for (absl::string_view line : absl::StrSplit(r->str, "\r\n")) {
      const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
      if (!absl::StartsWith(line, prefix)) continue;
      absl::string_view rest = line.substr(prefix.size());
      int64_t n = 0;
      EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n)) << line;
      return n;
    }
    return 0;
  }

  // Entries of `agency`'s inbox taken by a terminal and not acknowledged (XPENDING's count).
  int64_t Pending(const AgencyId& agency) {
    auto r = admin_->Command({"XPENDING", redis::Key("msg", "inbox:" + agency.Key()), "terminals"});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->elements.empty()) return -1;
    return r->elements[0].integer;
  }

  pid_t RedisPid() {
    auto info = admin_->Command({"INFO", "server"});
    EXPECT_TRUE(info.ok());
    if (!info.ok()) return -1;
    const size_t at = info->str.find("process_id:");
    EXPECT_NE(at, std::string::npos);
    return at == std::string::npos ? -1 : std::stoi(info->str.substr(at + 11));
  }

  testing::TestPki pki_;
  std::unique_ptr<testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<redis::RedisClient> admin_;
  std::unique_ptr<redis::AsyncRedisClient> async_redis_;
  std::unique_ptr<RedisMessageStore> store_;
  std::unique_ptr<RedisAgencyKeys> keys_;
  Revocations revocations_;
  testing::RecordingAuditSink audit_;
  metrics::Metrics metrics_;
  quota::QuotaChecker quotas_{quota::QuotaTable::Defaults(), metrics_, SystemClock::Get()};
  std::unique_ptr<MessagingMetrics> messaging_metrics_;
  DeliveryNotifier notifier_;
  std::atomic<bool> forward_notifications_{true};
  std::mutex held_mu_;
  std::vector<std::string> held_;  // guarded by held_mu_: payloads heard while not forwarding
  std::unique_ptr<Mailbox> mailbox_;
  std::unique_ptr<server::OpenCalls> open_calls_;
  std::unique_ptr<MessagingService> service_;
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Test that twelve streams (six agencies, two terminals each) woken by the same notifications,
// while two threads store messages addressed to all six agencies, deliver every message exactly
// once per agency (one of its two terminals), and that the delivery counter and the audit
// records add up.
TEST_F(SubscribeReactorTest, ManyStreamsOfSeveralAgenciesGetEveryMessageOncePerAgency) {
  std::vector<AgencyId> agencies;
  for (int i = 1; i <= 6; ++i)
    agencies.push_back(Agency(AgencyType::kPolice, absl::StrCat("zone-", i)));
  std::map<std::string, std::vector<std::unique_ptr<Stream>>> streams;
  for (const AgencyId& a : agencies) {
    auto channel = Channel(a);
    streams[a.Key()].push_back(std::make_unique<Stream>(channel, "desk-1"));
    streams[a.Key()].push_back(std::make_unique<Stream>(channel, "desk-2"));
  }
  ASSERT_TRUE(WaitForOpenStreams(12));

  constexpr int kPerThread = 40;
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) Store(absl::StrCat("message-", t, "-", i), agencies);
    });
  }
  for (std::thread& s : senders) s.join();

  const size_t total = 2 * kPerThread;
  auto received = [&](const std::string& agency) {
    std::map<std::string, int> ids;
    for (const auto& s : streams[agency]) {
      for (const v1::Delivery& d : s->received()) ++ids[d.envelope().message_id()];
    }
    return ids;
  };
  ASSERT_TRUE(Stream::WaitUntil(
      [&] {
        for (const AgencyId& a : agencies) {
          if (received(a.Key()).size() < total) return false;
        }
        return true;
      },
      absl::Seconds(20)));
  for (const AgencyId& a : agencies) {
    const auto ids = received(a.Key());
    EXPECT_EQ(ids.size(), total) << a.Key();
    for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << a.Key() << " " << id;
  }
  EXPECT_EQ(messaging_metrics_->deliveries->Value(), static_cast<double>(agencies.size() * total));
  EXPECT_EQ(messaging_metrics_->redeliveries->Value(), 0);
  // One consultation record per delivered batch, each before its batch: at least one per stream
  // that delivered, at most one per delivery.
  size_t records = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (absl::EndsWith(e.method, "/Subscribe")) ++records;
  }
  EXPECT_GE(records, agencies.size());
  EXPECT_LE(records, agencies.size() * total);
}

// Test that open Subscribe streams hold no server thread each (the synchronous handler held one
// per stream, waiting: 100 streams were 100 threads), and that one message to twenty agencies
// reaches one of the five terminals of each.
TEST_F(SubscribeReactorTest, OpenStreamsHoldNoThreadEach) {
  constexpr int kAgencies = 20;
  constexpr int kPerAgency = 5;
  std::vector<AgencyId> agencies;
  std::vector<std::unique_ptr<v1::Messaging::Stub>> stubs;
  for (int i = 0; i < kAgencies; ++i) {
    agencies.push_back(Agency(AgencyType::kPolice, absl::StrCat("pz-scale-", i)));
    stubs.push_back(v1::Messaging::NewStub(Channel(agencies.back())));
  }
  // Connections established (and gRPC's own pools started) before counting.
  {
    std::atomic<int> warm_received{0};
    std::vector<std::unique_ptr<AsyncStream>> warm;
    for (auto& stub : stubs)
      warm.push_back(std::make_unique<AsyncStream>(stub.get(), "warm", warm_received));
    ASSERT_TRUE(WaitForOpenStreams(kAgencies));
    for (auto& s : warm) s->Cancel();
    for (auto& s : warm) EXPECT_TRUE(s->WaitDone(absl::Seconds(10)));
    ASSERT_TRUE(WaitForOpenStreams(0));
  }
  const int before = ThreadsOfThisProcess();
  std::atomic<int> received{0};
  std::vector<std::unique_ptr<AsyncStream>> streams;
  for (int i = 0; i < kAgencies * kPerAgency; ++i) {
    streams.push_back(std::make_unique<AsyncStream>(
        stubs[i % kAgencies].get(), absl::StrCat("desk-", i / kAgencies), received));
  }
  ASSERT_TRUE(WaitForOpenStreams(kAgencies * kPerAgency));
  Store("message-fanout", agencies);
  ASSERT_TRUE(Stream::WaitUntil([&] { return received.load() >= kAgencies; }, absl::Seconds(20)))
      << received.load();
  const int during = ThreadsOfThisProcess();
  // A thread per stream would add 100; the callback API adds none per stream.
  EXPECT_LT(during - before, 30) << "threads before " << before << ", with 100 streams " << during;
  absl::SleepFor(absl::Milliseconds(200));  // a second delivery of the message would show here
  EXPECT_EQ(received.load(), kAgencies);
  for (auto& s : streams) s->Cancel();
  for (auto& s : streams) EXPECT_TRUE(s->WaitDone(absl::Seconds(10)));
}

// Test that an idle stream delivers a new message as soon as its notification arrives (its poll
// is an hour away), with exactly one read: one script call for the send and one for the
// stream's read, nothing else evaluated.
TEST_F(SubscribeReactorTest, AnIdleStreamDeliversAtOnceWithOneRead) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  Stream stream(Channel(payoke), "desk-1");
  ASSERT_TRUE(WaitForOpenStreams(1));
  // The stream's first read (own pending, then new) has returned empty: it is idle.
  Store("message-warm", {payoke});
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.received().size() == 1; }, absl::Seconds(10)));
  for (int i = 0; i < 5; ++i) {
    const int64_t before = Calls("evalsha");
    const absl::Time sent_at = absl::Now();
    Store(absl::StrCat("message-", i), {payoke});
    ASSERT_TRUE(
        Stream::WaitUntil([&] { return stream.received().size() == 2u + i; }, absl::Seconds(5)))
        << "not delivered without a poll";
    EXPECT_LT(absl::Now() - sent_at, absl::Seconds(2));
    // The audit record of the batch is in memory here (RecordingAuditSink): only the send
    // script and the stream's one read ran in Redis.
    ASSERT_TRUE(
        Stream::WaitUntil([&] { return Calls("evalsha") >= before + 2; }, absl::Seconds(5)));
    EXPECT_EQ(Calls("evalsha"), before + 2);
  }
  EXPECT_EQ(stream.received().back().envelope().message_id(), "message-4");
}

// Test that a stream cancelled by its client while its read is in flight (Redis frozen with
// SIGSTOP, so the read cannot return) ends at once, that the late reply (UNAVAILABLE after the
// client's command timeout, or the batch once Redis answers) finds the reactor alive and writes
// nothing, and that the message it may have taken is delivered to the terminal's next stream.
TEST_F(SubscribeReactorTest, AStreamCancelledWhileItsReadIsInFlightEndsCleanly) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  auto channel = Channel(payoke);
  auto stream = std::make_unique<Stream>(channel, "desk-1");
  ASSERT_TRUE(WaitForOpenStreams(1));
  Store("message-warm", {payoke});
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream->received().size() == 1; }, absl::Seconds(10)));

  // A message the stream does not hear of (the notification is held back), then a read issued
  // by hand while Redis cannot answer.
  forward_notifications_.store(false);
  Store("message-late", {payoke});
  const pid_t pid = RedisPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  notifier_.Notify(payoke.Key());
  stream->Cancel();
  const bool closed = WaitForOpenStreams(0);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_TRUE(closed) << "the cancelled stream did not end while its read was in flight";
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream->ended(); }, absl::Seconds(10)));
  EXPECT_EQ(stream->received().size(), 1u);
  stream.reset();

  // Nothing is lost: the terminal's next stream gets the message (its own pending, or new).
  forward_notifications_.store(true);
  std::unique_ptr<Stream> next;
  ASSERT_TRUE(Stream::WaitUntil(
      [&] {
        // The frozen connection is closed after the command timeout; a read may fail meanwhile.
        if (next != nullptr && next->ended()) next.reset();
        if (next == nullptr) next = std::make_unique<Stream>(channel, "desk-1");
        for (const v1::Delivery& d : next->received()) {
          if (d.envelope().message_id() == "message-late") return true;
        }
        return false;
      },
      absl::Seconds(20)));
}

// Test that a stream waiting for messages (no read or write in flight; its poll an hour away)
// ends with UNAUTHENTICATED and ErrorInfo AGENCY_SUSPENDED as soon as the registry's watcher
// sees the suspension, and that a message stored afterwards is never written to it.
TEST_F(SubscribeReactorTest, AWaitingStreamEndsWhenItsAgencyIsSuspended) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  Stream stream(Channel(payoke), "desk-1");
  ASSERT_TRUE(WaitForOpenStreams(1));
  Store("message-before", {payoke});
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.received().size() == 1; }, absl::Seconds(10)));

  revocations_.Suspend(payoke);
  open_calls_->CheckNow();  // one pass of the watcher
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.ended(); }, absl::Seconds(5)));
  const grpc::Status status = stream.status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(status)), "AGENCY_SUSPENDED");
  Store("message-after", {payoke});
  EXPECT_EQ(stream.received().size(), 1u);
}

// Test that a stream whose read gets no answer from Redis (frozen) ends UNAVAILABLE within the
// client's command timeout, and that a new stream delivers once Redis answers again.
TEST_F(SubscribeReactorTest, AStreamEndsUnavailableWhenRedisDoesNotAnswer) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  auto channel = Channel(payoke);
  Stream stream(channel, "desk-1");
  ASSERT_TRUE(WaitForOpenStreams(1));
  const pid_t pid = RedisPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  notifier_.Notify(payoke.Key());
  const bool ended = Stream::WaitUntil([&] { return stream.ended(); }, absl::Seconds(10));
  // What the server and the asynchronous client were doing, should the stream still be open.
  const size_t open = open_calls_->open_streams();
  const bool async_healthy = async_redis_->healthy();
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_TRUE(ended) << "the stream did not end within 10 s of the notification while Redis was "
                        "frozen; server-side streams open: "
                     << open << ", asynchronous client healthy: " << async_healthy
                     << ", deliveries received: " << stream.received().size();
  EXPECT_EQ(stream.status().error_code(), grpc::StatusCode::UNAVAILABLE)
      << stream.status().error_message();

  // The client's connection reopens after its backoff (a stream opened before ends UNAVAILABLE
  // at its first read; the next one delivers). Bounded in time, not only in attempts: an attempt
  // that fails in the backoff window takes a few milliseconds, so a count alone can run out
  // before the reconnection on a loaded machine. Each failed attempt waits 50 ms.
  std::unique_ptr<Stream> next;
  bool delivered = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (int i = 0; i < 600 && !delivered && absl::Now() < give_up; ++i) {
    next = std::make_unique<Stream>(channel, "desk-1");
    if (!store_->Send(kSender, MakeEnvelope(absl::StrCat("message-", i), {payoke}), absl::Now())
             .ok()) {
      absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    ASSERT_TRUE(Stream::WaitUntil([&] { return !next->received().empty() || next->ended(); },
                                  absl::Seconds(10)));
    delivered = !next->received().empty();
    if (!delivered) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(delivered) << "no stream delivered within 30 s of Redis answering again";
}

// Test that announcements heard while a stream's read is in flight cost no further read when
// that read took their entries (was one more, empty, read after the batch), that the channel
// payload names each recipient's entry ("<rkey>@<entry id>"), and that an announcement of an
// entry the read did not take still gets its read, without waiting for a poll (an hour here).
TEST_F(SubscribeReactorTest, AnnouncementsCoveredByTheReadInFlightCostNoFurtherRead) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  Stream stream(Channel(payoke), "desk-1");
  ASSERT_TRUE(WaitForOpenStreams(1));
  Store("message-warm", {payoke});
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.received().size() == 1; }, absl::Seconds(10)));

  // Five messages stored; their announcements held back, then heard while a read is in flight
  // (Redis frozen, so the read cannot return before the last one is heard).
  constexpr int kMessages = 5;
  forward_notifications_.store(false);
  for (int i = 0; i < kMessages; ++i) Store(absl::StrCat("message-", i), {payoke});
  std::vector<std::string> held;
  ASSERT_TRUE(Stream::WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(held_mu_);
        held = held_;
        return held.size() == kMessages;
      },
      absl::Seconds(10)));
  for (const std::string& payload : held) {
    ASSERT_TRUE(absl::StartsWith(payload, payoke.Key() + "@")) << payload;
    EXPECT_TRUE(ParseEntryId(payload.substr(payoke.Key().size() + 1)).has_value()) << payload;
  }
  const int64_t before = Calls("evalsha");
  const pid_t pid = RedisPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  for (const std::string& payload : held) notifier_.Notify(payload);  // the first one reads
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.received().size() == 1u + kMessages; },
                                absl::Seconds(10)));
  // The read took all five: the four announcements heard during it cost nothing more.
  absl::SleepFor(absl::Milliseconds(200));  // a further read would show here
  EXPECT_EQ(Calls("evalsha"), before + 1);

  // An entry appended after the last read is read for when announced.
  forward_notifications_.store(true);
  Store("message-after", {payoke});
  ASSERT_TRUE(Stream::WaitUntil([&] { return stream.received().size() == 2u + kMessages; },
                                absl::Seconds(5)))
      << "an announcement of an entry not yet read was skipped";
  std::set<std::string> ids;
  for (const v1::Delivery& d : stream.received()) ids.insert(d.envelope().message_id());
  EXPECT_EQ(ids.size(), 2u + kMessages);
}

// One delivery per batch and a poll every 20 ms: each batch is full, so a stream always wants
// its next read. A visibility timeout of 2 s: a new stream takes back one batch of its
// terminal's own pending deliveries at once, the rest after the timeout.
class SubscribeReactorBatchTest : public SubscribeReactorTest {
 protected:
  absl::Duration VisibilityTimeout() const override { return absl::Seconds(2); }
  MessagingServiceOptions ServiceOptions() const override {
    return MessagingServiceOptions{.subscribe_batch = 1, .poll_interval = absl::Milliseconds(20)};
  }
};

// Test that a stream reads its next batch as soon as the last write of the batch before starts
// (not when it is done), and that a client that does not read makes the server hold at most
// that one batch behind the write in flight: with batches of one 1 MiB delivery, far beyond the
// client's stream window, the first write never completes; the next batch is read (2 entries
// taken, was 1 when the read waited for the write to be done) and nothing more, however often
// the stream is woken (polls every 20 ms, notifications). Nothing is lost: the terminal's next
// stream delivers every message.
TEST_F(SubscribeReactorBatchTest, AClientThatDoesNotReadHoldsAtMostOneBatchBehindTheWrite) {
  const AgencyId payoke = Agency(AgencyType::kReceptionCentre, "payoke");
  constexpr size_t kBody = 1024 * 1024;
  constexpr int kMessages = 6;
  for (int i = 0; i < kMessages; ++i) Store(absl::StrCat("message-", i), {payoke}, kBody);
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // the stream window stays at its 64 KiB default
  auto stalled_channel = grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", port_),
      MakeChannelCredentials(pki_.AgencyCert(payoke.type, payoke.id).tls()), args);
  auto stub = v1::Messaging::NewStub(stalled_channel);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_terminal_id("desk-1");
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> stalled = stub->Subscribe(&ctx, req);
  ASSERT_TRUE(WaitForOpenStreams(1));
  // Never read: the first delivery's write cannot complete (should the client's transport take
  // a delivery after all, it is written and no longer held: held = taken - written).
  auto held = [&] {
    const int64_t taken = Pending(payoke);
    return taken - static_cast<int64_t>(messaging_metrics_->deliveries->Value());
  };
  ASSERT_TRUE(Stream::WaitUntil([&] { return held() == 2; }, absl::Seconds(10)))
      << "held " << held() << ": the next batch was not read during the last write";
  for (int i = 0; i < 25; ++i) {  // ~25 polls and as many notifications: still one batch behind
    notifier_.Notify(payoke.Key());
    absl::SleepFor(absl::Milliseconds(20));
    const int64_t now_held = held();
    ASSERT_LE(now_held, 2) << "taken " << Pending(payoke) << ", written "
                           << messaging_metrics_->deliveries->Value();
  }
  ctx.TryCancel();
  (void)stalled->Finish();
  ASSERT_TRUE(WaitForOpenStreams(0));

  // The terminal's next stream gets them all: its own pending first (one batch: message-0), the
  // new ones, and message-1 once the visibility timeout has passed.
  Stream next(Channel(payoke), "desk-1");
  ASSERT_TRUE(
      Stream::WaitUntil([&] { return next.received().size() >= kMessages; }, absl::Seconds(20)));
  std::set<std::string> ids;
  for (const v1::Delivery& d : next.received()) ids.insert(d.envelope().message_id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kMessages));
}

}  // namespace
}  // namespace concord::messaging
