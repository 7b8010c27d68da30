#include "common/redis/subscriber.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <utility>

#include "common/redis/backoff.h"
#include "common/redis/connection.h"

namespace concord::redis {
namespace {

using internal::Connection;

// With no traffic for this long the thread PINGs; with no answer for as long again it treats the
// connection as dead and reconnects (faster than TCP keepalive on a half-open connection).
constexpr int kIdlePingMs = 15'000;
// poll() bound when the self-pipe could not be created (stop is then noticed within this).
constexpr int kFallbackPollMs = 250;

bool IsSubscribeAck(const Reply& r) {
  return r.type == Reply::Type::kArray && r.elements.size() == 3 &&
         r.elements[0].str == "subscribe";
}

bool IsMessage(const Reply& r) {
  return r.type == Reply::Type::kArray && r.elements.size() == 3 && r.elements[0].str == "message";
}

}  // namespace

Subscriber::Subscriber(RedisConfig config, std::vector<std::string> channels,
                       MessageHandler on_message, std::function<void()> on_connected)
    : config_(std::move(config)),
      channels_(std::move(channels)),
      on_message_(std::move(on_message)),
      on_connected_(std::move(on_connected)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_fd_ = fds[0];
    wake_write_fd_ = fds[1];
  }
  thread_ = std::thread([this] { Run(); });
}

Subscriber::~Subscriber() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (wake_write_fd_ >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = write(wake_write_fd_, &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (wake_read_fd_ >= 0) close(wake_read_fd_);
  if (wake_write_fd_ >= 0) close(wake_write_fd_);
}

bool Subscriber::WaitUnlessStopped(std::chrono::nanoseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void Subscriber::Run() {
  internal::Backoff backoff(config_.max_backoff);
  while (!stopping()) {
    if (RunSession()) backoff.Reset();
    connected_.store(false);
    if (stopping() || !WaitUnlessStopped(backoff.Next())) break;
  }
}

bool Subscriber::RunSession() {
  if (channels_.empty()) {
    // Nothing to listen to: idle until stopped rather than spin.
    WaitUnlessStopped(std::chrono::hours(24 * 365));
    return false;
  }
  StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(config_, /*select_db=*/false);
  if (!opened.ok()) return false;
  Connection& conn = **opened;
  redisContext* c = conn.context();

  std::vector<const char*> argv = {"SUBSCRIBE"};
  std::vector<size_t> lens = {9};
  for (const std::string& ch : channels_) {
    argv.push_back(ch.data());
    lens.push_back(ch.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    return false;
  }
  // Flush the SUBSCRIBE (blocking, bounded by command_timeout) and wait for every confirmation.
  size_t acks = 0;
  std::vector<Reply> early;  // defensive: messages seen before the last confirmation
  {
    internal::ScopedSigpipeBlock no_sigpipe;
    while (acks < channels_.size()) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) return false;
      Reply r = internal::ConvertReply(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (IsSubscribeAck(r)) {
        ++acks;
      } else if (IsMessage(r)) {
        early.push_back(std::move(r));
      } else if (r.is_error()) {
        return false;  // e.g. NOPERM for an ACL user without channel rights
      }
      if (stopping()) return true;
    }
  }
  connected_.store(true);
  if (on_connected_) on_connected_();
  for (const Reply& r : early) on_message_(r.elements[1].str, r.elements[2].str);

  // Deliver messages. Replies already buffered by hiredis are drained before polling the socket.
  bool ping_outstanding = false;
  while (!stopping()) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return true;  // protocol error
    if (raw != nullptr) {
      Reply r = internal::ConvertReply(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (IsMessage(r)) on_message_(r.elements[1].str, r.elements[2].str);
      continue;
    }
    struct pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    const nfds_t nfds = wake_read_fd_ >= 0 ? 2 : 1;
    const int timeout_ms = wake_read_fd_ >= 0 ? kIdlePingMs : kFallbackPollMs;
    const int n = poll(fds, nfds, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    if (stopping()) break;
    if (n == 0) {
      if (wake_read_fd_ < 0) continue;    // short fallback timeout: not an idle period
      if (ping_outstanding) return true;  // silent for two periods: assume a dead peer
      const char* ping[] = {"PING"};
      const size_t ping_len[] = {4};
      internal::ScopedSigpipeBlock no_sigpipe;
      int done = 0;
      if (redisAppendCommandArgv(c, 1, ping, ping_len) != REDIS_OK) return true;
      while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) return true;
      }
      ping_outstanding = true;
      continue;
    }
    if (fds[0].revents != 0) {
      if (redisBufferRead(c) != REDIS_OK) return true;  // EOF / reset: reconnect
      ping_outstanding = false;
    }
  }
  return true;
}

}  // namespace concord::redis
