#include "common/redis/async_redis_client.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/backoff.h"
#include "common/redis/connection.h"
#include "common/redis/keys.h"

namespace concord::redis {

using SteadyTime = std::chrono::steady_clock::time_point;

// One call: one or more commands written contiguously on one connection, one final callback.
struct AsyncRedisClient::Request {
  std::vector<std::vector<std::string>> commands;
  const Script* script = nullptr;  // Eval: commands[0] is the EVALSHA
  bool pipeline = false;           // replies returned as a vector, error replies in place
  Callback done;
  PipelineCallback done_pipeline;
  SteadyTime deadline;
  internal::AsyncConnection* conn = nullptr;

  // Loop-thread state.
  std::vector<Reply> replies;
  int hiredis_refs = 0;  // hiredis callbacks still to come for this request
  bool finished = false;
  bool retried = false;  // an Eval already reloaded after NOSCRIPT
  std::string load_error;

  void Finish(StatusOr<std::vector<Reply>> result) {
    if (finished) return;
    finished = true;
    if (pipeline) {
      done_pipeline(std::move(result));
    } else if (!result.ok()) {
      done(result.status());
    } else if (result->empty()) {
      done(absl::InternalError("redis: no reply"));
    } else {
      done(internal::ErrorReplyToStatus(std::move(result->front())));
    }
  }
};

namespace internal {
namespace {

struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

timeval ToTimeval(std::chrono::nanoseconds d) {
  if (d < std::chrono::nanoseconds::zero()) d = std::chrono::nanoseconds::zero();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

std::string AsyncReason(const redisAsyncContext* ac) {
  if (ac == nullptr) return "connection closed";
  if (ac->err == REDIS_ERR_EOF) return "connection closed by server";
  if (ac->err != 0 && ac->errstr != nullptr && ac->errstr[0] != '\0') return ac->errstr;
  return "connection closed";
}

}  // namespace

// One connection, owned by one IoThread and touched only on its loop thread.
class AsyncConnection {
 public:
  using Request = AsyncRedisClient::Request;

  AsyncConnection(AsyncRedisClient& client, event_base* base)
      : client_(client),
        config_(client.config_),
        base_(base),
        backoff_(config_.max_backoff),
        deadline_timer_(evtimer_new(base, &AsyncConnection::OnDeadlineTimer, this)),
        connect_timer_(evtimer_new(base, &AsyncConnection::OnConnectTimer, this)) {}

  ~AsyncConnection() { Close(Unavailable("client shut down"), /*backoff=*/false); }

  void Start(std::unique_ptr<Request> req) {
    if (stopping_) return Reject(std::move(req), Unavailable("client shut down"));
    switch (state_) {
      case State::kReady:
        return Dispatch(std::move(req));
      case State::kConnecting:
        waiting_.push_back(std::move(req));
        ArmDeadline();
        return;
      case State::kDown:
        if (std::chrono::steady_clock::now() < down_until_) {
          return Reject(std::move(req), down_status_);
        }
        waiting_.push_back(std::move(req));
        Connect();
        ArmDeadline();
        return;
    }
  }

  // Shutdown: fail everything now, never reconnect.
  void Stop() {
    stopping_ = true;
    Close(Unavailable("client shut down"), /*backoff=*/false);
  }

 private:
  enum class State { kDown, kConnecting, kReady };

  static void Reject(std::unique_ptr<Request> req, const Status& status) { req->Finish(status); }

  void Connect() {
    state_ = State::kConnecting;
    loaded_scripts_.clear();
    redisAsyncContext* ac = redisAsyncConnect(config_.host.c_str(), config_.port);
    if (ac == nullptr || ac->err != 0) {
      const std::string reason = ac == nullptr ? "out of memory" : ac->errstr;
      if (ac != nullptr) redisAsyncFree(ac);
      return Close(
          Unavailable(absl::StrCat("connect ", config_.host, ":", config_.port, ": ", reason)),
          /*backoff=*/true);
    }
    ac->data = this;
    redisLibeventAttach(ac, base_);
    redisAsyncSetConnectCallback(ac, &AsyncConnection::OnConnect);
    redisAsyncSetDisconnectCallback(ac, &AsyncConnection::OnDisconnect);
    ac_ = ac;
    const timeval tv = ToTimeval(absl::ToChronoNanoseconds(config_.connect_timeout));
    evtimer_add(connect_timer_.get(), &tv);

    // Setup, written as soon as the socket connects: AUTH, SELECT, and a PING so that "ready"
    // always means Redis answered on this connection.
    auto setup = std::make_unique<Request>();
    setup->pipeline = true;
    setup->deadline = SteadyTime::max();
    if (!config_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!config_.user.empty()) auth.push_back(config_.user);
      auth.push_back(config_.password);
      setup->commands.push_back(std::move(auth));
    }
    if (config_.db != 0) setup->commands.push_back({"SELECT", std::to_string(config_.db)});
    setup->commands.push_back({"PING"});
    Request* raw = setup.get();
    setup->done_pipeline = [this, raw](StatusOr<std::vector<Reply>> replies) {
      OnSetupDone(*raw, std::move(replies));
    };
    setup->conn = this;
    Write(std::move(setup));
  }

  void OnSetupDone(const Request& setup, StatusOr<std::vector<Reply>> replies) {
    if (state_ != State::kConnecting) return;  // closed meanwhile: already failed over
    if (!replies.ok()) return CloseLater(replies.status());
    for (size_t i = 0; i < replies->size(); ++i) {
      const Reply& r = (*replies)[i];
      if (!r.is_error()) continue;
      const std::string& step = setup.commands[i][0];
      const std::string name = step == "AUTH" ? "auth" : step == "SELECT" ? "select" : "ping";
      // Security: the reply text never contains the password (WRONGPASS/NOAUTH messages).
      Status refused =
          Unavailable(absl::StrCat(name, " ", config_.host, ":", config_.port, ": ", r.str));
      if (name == "auth") MarkAuthRefused(refused);
      return CloseLater(std::move(refused));
    }
    evtimer_del(connect_timer_.get());
    state_ = State::kReady;
    MarkUp();
    std::deque<std::unique_ptr<Request>> waiting;
    waiting.swap(waiting_);
    for (auto& req : waiting) {
      if (state_ != State::kReady) {
        Start(std::move(req));
      } else {
        Dispatch(std::move(req));
      }
    }
  }

  void Dispatch(std::unique_ptr<Request> req) {
    if (req->script != nullptr && !loaded_scripts_.contains(req->script->sha1())) {
      loaded_scripts_.insert(req->script->sha1());
      WriteScriptLoad(req.get(), /*report=*/false);
    }
    Write(std::move(req));
  }

  // Writes every command of `req` (hiredis buffers them until the socket is writable).
  void Write(std::unique_ptr<Request> req) {
    Request* raw = req.get();
    raw->conn = this;
    inflight_.push_back(std::move(req));
    for (const std::vector<std::string>& cmd : raw->commands) {
      if (!WriteCommand(raw, cmd, &AsyncConnection::OnReply)) return;
    }
    ArmDeadline();
  }

  bool WriteCommand(Request* req, const std::vector<std::string>& cmd, redisCallbackFn* fn) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(cmd.size());
    lens.reserve(cmd.size());
    for (const std::string& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (ac_ == nullptr || redisAsyncCommandArgv(ac_, fn, req, static_cast<int>(argv.size()),
                                                argv.data(), lens.data()) != REDIS_OK) {
      // The context is closing: the request fails with the connection.
      req->Finish(Unavailable(AsyncReason(ac_)));
      CloseLater(Unavailable(AsyncReason(ac_)));
      return false;
    }
    ++req->hiredis_refs;
    return true;
  }

  // SCRIPT LOAD ahead of `req`'s EVALSHA; `report` keeps a refusal (a compile error) for it.
  void WriteScriptLoad(Request* req, bool report) {
    WriteCommand(req, {"SCRIPT", "LOAD", req->script->source()},
                 report ? &AsyncConnection::OnScriptLoadReported : &AsyncConnection::OnScriptLoad);
  }

  static void OnScriptLoad(redisAsyncContext* ac, void* r, void* privdata) {
    static_cast<AsyncConnection*>(ac->data)->Release(static_cast<Request*>(privdata), r, false);
  }
  static void OnScriptLoadReported(redisAsyncContext* ac, void* r, void* privdata) {
    static_cast<AsyncConnection*>(ac->data)->Release(static_cast<Request*>(privdata), r, true);
  }

  // The hiredis callback's reference to `req` is dropped only at the end of each handler: what
  // the handler runs (callbacks, a Close) must not delete the request under it.
  void Release(Request* req, void* r, bool report) {
    auto* reply = static_cast<redisReply*>(r);
    if (report && reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
      req->load_error.assign(reply->str, reply->len);
    }
    if (reply == nullptr && !req->finished) req->Finish(Unavailable(AsyncReason(ac_)));
    --req->hiredis_refs;
    Forget(req);
  }

  static void OnReply(redisAsyncContext* ac, void* r, void* privdata) {
    static_cast<AsyncConnection*>(ac->data)->HandleReply(static_cast<Request*>(privdata),
                                                         static_cast<redisReply*>(r));
  }

  void HandleReply(Request* req, redisReply* reply) {
    if (reply == nullptr) {
      // The connection is being torn down: hiredis hands every pending callback a null reply.
      if (!req->finished) {
        req->Finish(closing_status_.ok() ? Unavailable(AsyncReason(ac_)) : closing_status_);
      }
    } else if (!req->finished) {
      Reply converted = ConvertReply(reply);
      bool retrying = false;
      if (req->script != nullptr && converted.is_error() &&
          absl::StartsWith(converted.str, "NOSCRIPT")) {
        if (!req->load_error.empty()) {
          converted.str = req->load_error;  // e.g. a compile error: reported as INTERNAL
        } else if (!req->retried) {
          // The script cache was emptied on a live connection (SCRIPT FLUSH): load and retry.
          req->retried = true;
          retrying = true;
          WriteScriptLoad(req, /*report=*/true);
          WriteCommand(req, req->commands[0], &AsyncConnection::OnReply);
        }
      }
      if (!retrying) {
        req->replies.push_back(std::move(converted));
        if (req->replies.size() == req->commands.size()) {
          MarkUp();
          req->Finish(std::move(req->replies));
        }
      }
    }
    --req->hiredis_refs;
    Forget(req);
  }

  // Deletes `req` once it is finished and hiredis holds no callback for it any more.
  void Forget(Request* req) {
    if (!req->finished || req->hiredis_refs > 0) return;
    // Usually the oldest: requests complete in order.
    for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
      if (it->get() == req) {
        inflight_.erase(it);
        return;
      }
    }
  }

  static void OnConnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<AsyncConnection*>(ac->data);
    if (status == REDIS_OK) return;  // the setup request's reply decides readiness
    // hiredis frees the context itself after this callback (and first fails its callbacks).
    self->ac_ = nullptr;
    self->closing_status_ = Unavailable(absl::StrCat("connect ", self->config_.host, ":",
                                                     self->config_.port, ": ", AsyncReason(ac)));
    self->Close(self->closing_status_, /*backoff=*/true);
  }

  static void OnDisconnect(const redisAsyncContext* ac, int /*status*/) {
    auto* self = static_cast<AsyncConnection*>(ac->data);
    if (self->ac_ != ac) return;  // we freed it ourselves (Close)
    // Closed by the server or by an I/O error; hiredis frees the context after this callback.
    self->ac_ = nullptr;
    if (self->closing_status_.ok()) self->closing_status_ = Unavailable(AsyncReason(ac));
    self->Close(self->closing_status_, /*backoff=*/true);
  }

  // Closing from inside a hiredis callback must wait until the callback returns.
  void CloseLater(Status status) {
    if (closing_status_.ok()) closing_status_ = std::move(status);
    if (ac_ != nullptr) {
      redisAsyncContext* ac = ac_;
      ac_ = nullptr;
      redisAsyncDisconnect(ac);  // frees once its pending callbacks ran (with null replies)
    }
    Close(closing_status_, /*backoff=*/true);
  }

  // Fails every waiting and in-flight call with `status`, frees the context (which runs every
  // pending hiredis callback with a null reply), and opens the backoff window.
  void Close(Status status, bool backoff) {
    evtimer_del(connect_timer_.get());
    evtimer_del(deadline_timer_.get());
    const bool was_up = state_ != State::kDown;
    state_ = State::kDown;
    if (backoff) {
      client_.healthy_.store(false, std::memory_order_relaxed);
      const SteadyTime now = std::chrono::steady_clock::now();
      if (was_up || now >= down_until_) down_until_ = now + backoff_.Next();
      down_status_ = status;
    }
    std::deque<std::unique_ptr<Request>> waiting;
    waiting.swap(waiting_);
    for (auto& req : waiting) req->Finish(status);
    // Finish every in-flight call first (callbacks may submit more: they go to the queue).
    for (auto& req : inflight_) req->Finish(status);
    if (ac_ != nullptr) {
      redisAsyncContext* ac = ac_;
      ac_ = nullptr;
      redisAsyncFree(ac);  // null replies for the pending callbacks: they only release
    }
    // What hiredis no longer references can go now; the rest goes with its last callback.
    inflight_.erase(std::remove_if(inflight_.begin(), inflight_.end(),
                                   [](const auto& r) { return r->hiredis_refs == 0; }),
                    inflight_.end());
    closing_status_ = absl::OkStatus();
  }

  void MarkUp() {
    backoff_.Reset();
    client_.healthy_.store(true, std::memory_order_relaxed);
  }

  // The deadline timer runs at the earliest deadline of a waiting or unfinished in-flight call.
  void ArmDeadline() {
    if (evtimer_pending(deadline_timer_.get(), nullptr)) return;
    SteadyTime earliest = SteadyTime::max();
    for (const auto& req : waiting_) {
      earliest = std::min(earliest, req->deadline);
      break;  // FIFO: the oldest has the earliest deadline
    }
    for (const auto& req : inflight_) {
      if (req->finished) continue;
      earliest = std::min(earliest, req->deadline);
      break;
    }
    if (earliest == SteadyTime::max()) return;
    const timeval tv = ToTimeval(earliest - std::chrono::steady_clock::now());
    evtimer_add(deadline_timer_.get(), &tv);
  }

  static void OnDeadlineTimer(evutil_socket_t, short, void* arg) {
    static_cast<AsyncConnection*>(arg)->ExpireDeadlines();
  }

  void ExpireDeadlines() {
    const SteadyTime now = std::chrono::steady_clock::now();
    for (const auto& req : inflight_) {
      if (!req->finished && req->deadline <= now) {
        // Redis did not answer in time (frozen, or far behind): the connection cannot be trusted
        // to answer in order any more; close it and fail what it carries.
        return Close(Unavailable("timeout"), /*backoff=*/true);
      }
    }
    while (!waiting_.empty() && waiting_.front()->deadline <= now) {
      std::unique_ptr<Request> req = std::move(waiting_.front());
      waiting_.pop_front();
      req->Finish(Unavailable("timeout"));
    }
    ArmDeadline();
  }

  static void OnConnectTimer(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<AsyncConnection*>(arg);
    if (self->state_ != State::kConnecting) return;
    self->Close(Unavailable(absl::StrCat("connect ", self->config_.host, ":", self->config_.port,
                                         ": timeout")),
                /*backoff=*/true);
  }

  AsyncRedisClient& client_;
  const RedisConfig& config_;
  event_base* const base_;
  Backoff backoff_;
  EventPtr deadline_timer_;
  EventPtr connect_timer_;
  redisAsyncContext* ac_ = nullptr;
  State state_ = State::kDown;
  bool stopping_ = false;
  SteadyTime down_until_{};
  Status down_status_;
  Status closing_status_;  // why the context is going away (for the null replies)
  std::deque<std::unique_ptr<Request>> waiting_;    // while connecting
  std::deque<std::unique_ptr<Request>> inflight_;   // written to hiredis, in order
  std::unordered_set<std::string> loaded_scripts_;  // SHA-1s loaded on this connection
};

// One event loop thread and its connections. Submissions cross threads through a mutex-guarded
// queue and an eventfd that wakes the loop.
class IoThread {
 public:
  using Request = AsyncRedisClient::Request;

  IoThread(AsyncRedisClient& client, int connections) : base_(event_base_new()) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    wake_ev_ = EventPtr(event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &IoThread::OnWake, this));
    event_add(wake_ev_.get(), nullptr);
    for (int i = 0; i < connections; ++i) {
      connections_.push_back(std::make_unique<AsyncConnection>(client, base_));
    }
    thread_ = std::thread([this] { Run(); });
  }

  /// Fails everything queued or in flight and joins the loop thread. Idempotent.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
  }

  ~IoThread() {
    Shutdown();
    connections_.clear();
    wake_ev_.reset();
    event_base_free(base_);
    close(wake_fd_);
  }

  AsyncConnection* connection(size_t i) { return connections_[i].get(); }

  /// Queues `req` for the loop, or fails it here when shutting down.
  void Submit(std::unique_ptr<Request> req) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        wake = queue_.empty();
        queue_.push_back(std::move(req));
      }
    }
    if (req != nullptr) return req->Finish(Unavailable("client shut down"));
    if (wake) Wake();
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = write(wake_fd_, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
  }

  void Run() {
    // hiredis writes with write(2): a Redis that closed the socket must not kill the process.
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    event_base_dispatch(base_);
  }

  static void OnWake(evutil_socket_t fd, short, void* arg) {
    uint64_t count;
    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    static_cast<IoThread*>(arg)->Drain();
  }

  void Drain() {
    std::deque<std::unique_ptr<Request>> batch;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(queue_);
      stopping = stopping_;
    }
    for (auto& req : batch) {
      AsyncConnection* conn = req->conn;
      conn->Start(std::move(req));
    }
    if (stopping) {
      // Nothing can be queued any more (Submit fails inline once stopping_ is set).
      for (auto& conn : connections_) conn->Stop();
      event_base_loopbreak(base_);
    }
  }

  event_base* base_;
  int wake_fd_ = -1;
  EventPtr wake_ev_;
  std::vector<std::unique_ptr<AsyncConnection>> connections_;
  std::mutex mu_;
  std::deque<std::unique_ptr<Request>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace internal

std::unique_ptr<AsyncRedisClient> AsyncRedisClient::Create(const RedisConfig& config,
                                                           AsyncRedisOptions options) {
  return std::unique_ptr<AsyncRedisClient>(new AsyncRedisClient(config, options));
}

AsyncRedisClient::AsyncRedisClient(const RedisConfig& config, AsyncRedisOptions options)
    : config_(config), connections_per_thread_(std::max(1, options.connections_per_thread)) {
  const int threads = std::max(1, options.io_threads);
  for (int i = 0; i < threads; ++i) {
    threads_.push_back(std::make_unique<internal::IoThread>(*this, connections_per_thread_));
  }
}

AsyncRedisClient::~AsyncRedisClient() {
  // Every thread stops before any is destroyed: a callback on one may still submit to another.
  for (auto& thread : threads_) thread->Shutdown();
  threads_.clear();
}

void AsyncRedisClient::Submit(std::string_view routing_key, std::unique_ptr<Request> request) {
  request->deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(config_.command_timeout);
  // Keys of one hash tag share a connection (the Cluster slot's node, later).
  const size_t total = threads_.size() * static_cast<size_t>(connections_per_thread_);
  const size_t index = total == 1 ? 0 : std::hash<std::string_view>{}(HashTag(routing_key)) % total;
  internal::IoThread& thread = *threads_[index / static_cast<size_t>(connections_per_thread_)];
  request->conn = thread.connection(index % static_cast<size_t>(connections_per_thread_));
  thread.Submit(std::move(request));
}

void AsyncRedisClient::Command(std::vector<std::string> args, Callback done) {
  if (args.empty()) return done(absl::InvalidArgumentError("redis: empty command"));
  auto req = std::make_unique<Request>();
  const std::string routing = args.size() > 1 ? args[1] : std::string();
  req->commands.push_back(std::move(args));
  req->done = std::move(done);
  Submit(routing, std::move(req));
}

void AsyncRedisClient::Eval(const Script& script, std::vector<std::string> keys,
                            std::vector<std::string> args, Callback done) {
  auto req = std::make_unique<Request>();
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1());
  argv.push_back(std::to_string(keys.size()));
  const std::string routing = keys.empty() ? std::string() : keys[0];
  for (std::string& k : keys) argv.push_back(std::move(k));
  for (std::string& a : args) argv.push_back(std::move(a));
  req->commands.push_back(std::move(argv));
  req->script = &script;
  req->done = std::move(done);
  Submit(routing, std::move(req));
}

void AsyncRedisClient::Pipeline(std::vector<std::vector<std::string>> commands,
                                PipelineCallback done) {
  for (const auto& command : commands) {
    if (command.empty()) {
      return done(absl::InvalidArgumentError("redis: empty command in pipeline"));
    }
  }
  if (commands.empty()) return done(std::vector<Reply>{});
  auto req = std::make_unique<Request>();
  const std::string routing = commands[0].size() > 1 ? commands[0][1] : std::string();
  req->commands = std::move(commands);
  req->pipeline = true;
  req->done_pipeline = std::move(done);
  Submit(routing, std::move(req));
}

}  // namespace concord::redis
