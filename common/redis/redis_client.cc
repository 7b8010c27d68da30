#include "common/redis/redis_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/redis/backoff.h"
#include "common/redis/connection.h"
#include "common/status/status_macros.h"

namespace concord::redis {
namespace {

using internal::Connection;
using internal::Unavailable;

using internal::ErrorReplyToStatus;

}  // namespace

std::unique_ptr<RedisClient> RedisClient::Create(const RedisConfig& config) {
  return std::unique_ptr<RedisClient>(new RedisClient(config));
}

RedisClient::RedisClient(const RedisConfig& config)
    : config_(config), backoff_(std::make_unique<internal::Backoff>(config.max_backoff)) {}

RedisClient::~RedisClient() = default;

StatusOr<RedisClient::Lease> RedisClient::Acquire() {
  const SteadyTime deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(config_.command_timeout);
  const int pool_size = std::max(1, config_.pool_size);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Fail fast: inside the backoff window no I/O is attempted at all.
    if (std::chrono::steady_clock::now() < down_until_) return down_status_;
    while (!idle_.empty()) {
      Lease lease = std::move(idle_.back());
      idle_.pop_back();
      if (lease.generation == generation_ && lease.conn->LooksAlive()) return lease;
      // Closed by the server while idle (e.g. Redis restarted): discard it silently; this is
      // not an outage by itself, the next connect attempt will tell.
      --open_;
    }
    if (open_ < pool_size) {
      ++open_;
      lock.unlock();
      StatusOr<Conn> conn = Connection::Open(config_, /*select_db=*/true);
      lock.lock();
      if (!conn.ok()) {
        --open_;
        MarkDownLocked(conn.status());
        return conn.status();
      }
      // Not marked up yet: a successful connect alone does not prove Redis answers commands.
      return Lease{std::move(*conn), generation_};
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Unavailable("no pooled connection free within command_timeout");
    }
  }
}

void RedisClient::Release(Lease lease) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lease.conn->broken()) {
    --open_;
    MarkDownLocked(Unavailable(lease.conn->ErrorReason()));
  } else if (lease.generation != generation_) {
    --open_;  // opened before the latest outage: do not trust it
  } else {
    idle_.push_back(std::move(lease));
    MarkUpLocked();
  }
  cv_.notify_one();
}

void RedisClient::MarkDownLocked(Status status) {
  healthy_.store(false, std::memory_order_relaxed);
  // Every other connection is suspect after a failure (most failures are "Redis went away"):
  // drop the idle ones now and the busy ones when they come back.
  ++generation_;
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  const SteadyTime now = std::chrono::steady_clock::now();
  // Concurrent callers failing on the same outage must not escalate the backoff several times.
  if (now >= down_until_) down_until_ = now + backoff_->Next();
  down_status_ = std::move(status);
  cv_.notify_all();  // waiters for a connection return UNAVAILABLE at once
}

void RedisClient::MarkUpLocked() {
  healthy_.store(true, std::memory_order_relaxed);
  backoff_->Reset();
  down_until_ = SteadyTime{};
}

StatusOr<Reply> RedisClient::Command(const std::vector<std::string>& args) {
  if (args.empty()) return absl::InvalidArgumentError("redis: empty command");
  CONCORD_ASSIGN_OR_RETURN(Lease lease, Acquire());
  StatusOr<Reply> reply = lease.conn->Execute(args);
  Release(std::move(lease));
  if (!reply.ok()) return reply.status();
  return ErrorReplyToStatus(*std::move(reply));
}

StatusOr<std::vector<Reply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  for (const auto& command : commands) {
    if (command.empty()) return absl::InvalidArgumentError("redis: empty command in pipeline");
  }
  if (commands.empty()) return std::vector<Reply>{};
  CONCORD_ASSIGN_OR_RETURN(Lease lease, Acquire());
  StatusOr<std::vector<Reply>> replies = lease.conn->ExecutePipeline(commands);
  Release(std::move(lease));
  return replies;
}

StatusOr<Reply> RedisClient::EvalOn(internal::Connection& conn, const Script& script,
                                    const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1());
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  CONCORD_ASSIGN_OR_RETURN(Reply reply, conn.Execute(argv));
  if (!reply.is_error() || !absl::StartsWith(reply.str, "NOSCRIPT")) return reply;
  // The script cache is empty after a restart, failover or SCRIPT FLUSH: load it and retry once.
  CONCORD_ASSIGN_OR_RETURN(Reply loaded, conn.Execute({"SCRIPT", "LOAD", script.source()}));
  if (loaded.is_error()) return loaded;  // e.g. a compile error: reported as INTERNAL
  return conn.Execute(argv);
}

StatusOr<Reply> RedisClient::Eval(const Script& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) {
  CONCORD_ASSIGN_OR_RETURN(Lease lease, Acquire());
  StatusOr<Reply> reply = EvalOn(*lease.conn, script, keys, args);
  Release(std::move(lease));
  if (!reply.ok()) return reply.status();
  return ErrorReplyToStatus(*std::move(reply));
}

Status RedisClient::Ping() {
  CONCORD_ASSIGN_OR_RETURN(Reply reply, Command({"PING"}));
  if (reply.type != Reply::Type::kStatus || reply.str != "PONG") {
    return absl::InternalError("redis: unexpected PING reply");
  }
  return absl::OkStatus();
}

bool IsAuthRefused(const Status& status) { return internal::HasAuthRefusedMark(status); }

}  // namespace concord::redis
