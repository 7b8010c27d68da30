#include "common/redis/connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace concord::redis::internal {

void ContextDeleter::operator()(redisContext* c) const { redisFree(c); }

Status Unavailable(std::string_view reason) {
  return absl::UnavailableError(
      absl::StrCat("redis unavailable: ", absl::string_view(reason.data(), reason.size())));
}

namespace {
constexpr std::string_view kAuthRefusedPayload = "type.concord/redis.auth_refused";
}  // namespace

void MarkAuthRefused(Status& status) {
  status.SetPayload(absl::string_view(kAuthRefusedPayload.data(), kAuthRefusedPayload.size()),
                    absl::Cord("1"));
}

bool HasAuthRefusedMark(const Status& status) {
  return status
      .GetPayload(absl::string_view(kAuthRefusedPayload.data(), kAuthRefusedPayload.size()))
      .has_value();
}

namespace {
// Error replies that describe a passing server state rather than a wrong command: the caller
// should retry later, exactly as when Redis is unreachable. READONLY is a replica (e.g. a primary
// demoted by a Sentinel failover) refusing a write: also retry later, never INTERNAL.
bool IsTransientError(std::string_view message) {
  for (std::string_view prefix :
       {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}
}  // namespace

StatusOr<Reply> ErrorReplyToStatus(Reply reply) {
  if (!reply.is_error()) return reply;
  if (IsTransientError(reply.str)) return Unavailable(reply.str);
  return absl::InternalError(absl::StrCat("redis: ", reply.str));
}

Reply ConvertReply(const redisReply* r) {
  Reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(ConvertReply(r->element[i]));
      break;
    case REDIS_REPLY_NIL:
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

ScopedSigpipeBlock::ScopedSigpipeBlock() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  was_blocked_ = sigismember(&old, SIGPIPE) == 1;
}

ScopedSigpipeBlock::~ScopedSigpipeBlock() {
  if (!was_pending_) {
    // Consume a SIGPIPE our write raised so that unblocking does not deliver it.
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&set, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
  }
  if (!was_blocked_) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
}

namespace {

std::string ContextReason(const redisContext* c) {
  if (c == nullptr) return "out of memory";
  if (c->err == REDIS_ERR_EOF) return "connection closed by server";
  std::string s = c->errstr;
  // hiredis formats a socket timeout (EAGAIN on SO_RCVTIMEO/SO_SNDTIMEO) with strerror.
  if (s == "Resource temporarily unavailable") return "timeout";
  return s.empty() ? "i/o error" : s;
}

struct ArgvView {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  explicit ArgvView(const std::vector<std::string>& args) {
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
  }
};

}  // namespace

std::string Connection::ErrorReason() const { return ContextReason(ctx_.get()); }

Status Connection::Fail() {
  broken_ = true;
  return Unavailable(ErrorReason());
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const RedisConfig& config, bool select_db) {
  const std::string where = absl::StrCat(config.host, ":", config.port);
  ContextPtr ctx(redisConnectWithTimeout(config.host.c_str(), config.port,
                                         absl::ToTimeval(config.connect_timeout)));
  if (ctx == nullptr || ctx->err != 0) {
    return Unavailable(absl::StrCat("connect ", where, ": ", ContextReason(ctx.get())));
  }
  if (redisSetTimeout(ctx.get(), absl::ToTimeval(config.command_timeout)) != REDIS_OK) {
    return Unavailable(absl::StrCat("set timeout ", where, ": ", ContextReason(ctx.get())));
  }
  // Keepalive detects a silently dead peer on idle (pooled or subscribed) connections.
  redisEnableKeepAlive(ctx.get());
  std::unique_ptr<Connection> conn(new Connection(std::move(ctx)));

  auto run_setup = [&](const std::vector<std::string>& args, std::string_view step) -> Status {
    StatusOr<Reply> r = conn->Execute(args);
    if (!r.ok()) {
      return Unavailable(absl::StrCat(absl::string_view(step.data(), step.size()), " ", where, ": ",
                                      conn->ErrorReason()));
    }
    if (r->is_error()) {
      // Security: the reply text never contains the password (WRONGPASS/NOAUTH messages).
      Status refused = Unavailable(
          absl::StrCat(absl::string_view(step.data(), step.size()), " ", where, ": ", r->str));
      if (step == "auth") MarkAuthRefused(refused);
      return refused;
    }
    return absl::OkStatus();
  };
  if (!config.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!config.user.empty()) auth.push_back(config.user);
    auth.push_back(config.password);
    Status s = run_setup(auth, "auth");
    if (!s.ok()) return s;
  }
  if (select_db && config.db != 0) {
    Status s = run_setup({"SELECT", std::to_string(config.db)}, "select");
    if (!s.ok()) return s;
  }
  return conn;
}

StatusOr<Reply> Connection::Execute(const std::vector<std::string>& args) {
  if (broken_) return Unavailable(ErrorReason());
  ArgvView v(args);
  ScopedSigpipeBlock no_sigpipe;
  void* raw =
      redisCommandArgv(ctx_.get(), static_cast<int>(v.argv.size()), v.argv.data(), v.lens.data());
  if (raw == nullptr) return Fail();
  auto* reply = static_cast<redisReply*>(raw);
  Reply out = ConvertReply(reply);
  freeReplyObject(reply);
  return out;
}

StatusOr<std::vector<Reply>> Connection::ExecutePipeline(
    const std::vector<std::vector<std::string>>& cmds) {
  if (broken_) return Unavailable(ErrorReason());
  for (const auto& args : cmds) {
    ArgvView v(args);
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(v.argv.size()), v.argv.data(),
                               v.lens.data()) != REDIS_OK) {
      return Fail();
    }
  }
  ScopedSigpipeBlock no_sigpipe;
  std::vector<Reply> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) return Fail();
    auto* reply = static_cast<redisReply*>(raw);
    out.push_back(ConvertReply(reply));
    freeReplyObject(reply);
  }
  return out;
}

bool Connection::LooksAlive() const {
  if (broken_ || ctx_ == nullptr || ctx_->err != 0) return false;
  // A pooled RESP2 connection has no reply outstanding, so readable means EOF/RST (or stray data,
  // which would desynchronise replies): either way it must not be reused.
  struct pollfd pfd = {ctx_->fd, POLLIN, 0};
  const int n = poll(&pfd, 1, 0);
  if (n < 0) return false;
  return n == 0;
}

}  // namespace concord::redis::internal
