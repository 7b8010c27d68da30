// File: tests/bench/guidelines_bench.h
//
// `concord-bench guidelines` (guidelines_bench.cc): N agencies subscribed, publication to the last
// delivery, acknowledgements per second, the server's memory. docs/performance.md "Guidelines".
#pragma once

#include <string>

namespace concord::bench {

struct GuidelineBenchOptions {
  int agencies = 1000;
  int rounds = 3;
  std::string server_binary;
  std::string redis_acl_script;  // scripts/redis-acl.sh (renders the ACL file Redis loads)
  std::string keep_dir;          // "" = a temporary directory
};

/// Runs the scenario and prints its RESULT line; 0 on success, 1 on bad options, 2 when the
/// stack or a round failed.
int RunGuidelines(const GuidelineBenchOptions& options);

}  // namespace concord::bench
