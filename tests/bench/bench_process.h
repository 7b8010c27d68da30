// File: tests/bench/bench_process.h
//
// Child processes and /proc sampling for concord-bench: spawning redis-server, concord-server,
// concord-echo-server and scripts/pki.sh on free loopback ports, waiting for them with bounded
// polls, killing them (SIGTERM or SIGKILL) and reading CPU time and RSS of a pid.
// Children get SIGKILL when the thread that spawned them exits (PR_SET_PDEATHSIG): spawn from the
// main thread only. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace concord::bench {

/// A free TCP port on 127.0.0.1 (bound, read, closed: another process may take it meanwhile).
int FreeLoopbackPort();

/// Starts `argv[0]` with `argv`, stdout and stderr appended to `log_file`. -1 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_file);

/// Runs `argv` to completion (at most `timeout_s` seconds, then SIGKILL). Exit status or -1.
int RunAndWait(const std::vector<std::string>& argv, const std::string& log_file, int timeout_s);

/// Sends `sig` and waits for the exit (SIGKILL after `grace_ms`). No-op for pid <= 0.
void Stop(pid_t pid, int sig, int grace_ms);

bool Alive(pid_t pid);

/// utime + stime of `pid` in seconds (-1 if unreadable).
double CpuSeconds(pid_t pid);

/// VmRSS of `pid` in KiB (-1 if unreadable).
int64_t RssKib(pid_t pid);

std::string ReadFileOrEmpty(const std::string& path);

/// Directory of the running executable (/proc/self/exe).
std::string SelfDir();

bool FileExists(const std::string& path);

}  // namespace concord::bench
