// File: cli/concordctl/exit_codes.h
//
// concordctl's documented exit codes (also in `concordctl --help` and docs/concordctl.md).
// Scripts rely on them: never renumber.
#pragma once

namespace concord::ctl {

enum ExitCode : int {
  kExitOk = 0,                  // the command did what was asked
  kExitUsage = 1,               // bad flags or arguments (nothing was sent)
  kExitRpcFailed = 2,           // the RPC failed: code, message and field violations printed
  kExitVerificationFailed = 3,  // the server answered, but the check failed (audit chain broken,
                                // health not SERVING, a message or receipt signature INVALID,
                                // an agency's key changed without endorsement)
  kExitLocalError = 4,          // a local file or key is missing, unreadable or malformed
};

/// The exit-code table printed in the `--help` footer.
inline constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  ok\n"
    "  1  usage error (bad flags or arguments; nothing was sent)\n"
    "  2  RPC failed (prints the gRPC code, message, field violations and reason)\n"
    "  3  verification failed (audit chain broken, health not SERVING, or a message or receipt\n"
    "     signature INVALID / a sealed body or attachment that does not open, or an agency's\n"
    "     key changed in the directory without endorsement: see `directory trust`, or a partner\n"
    "     agency's keys changed in the partner export: see `federation trust`)\n"
    "  4  local file or key error (missing, unreadable or malformed certificate/key)\n";

}  // namespace concord::ctl
