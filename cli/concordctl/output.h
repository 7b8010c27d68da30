// File: cli/concordctl/output.h
//
// Everything concordctl prints. Human-readable text (aligned tables, key/value blocks) by
// default; with --json exactly one JSON document on stdout per successful command, for scripts.
// Errors always go to stderr (as JSON with --json), and the function printing them returns the
// documented exit code (exit_codes.h).
#pragma once

#include <grpcpp/support/status.h>

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace concord::ctl {

/// A proto message as JSON (proto3 JSON mapping, snake_case field names, defaults included).
/// INTERNAL if the conversion fails.
StatusOr<nlohmann::json> ProtoToJson(const google::protobuf::Message& message);

/// "ALREADY_EXISTS", "PERMISSION_DENIED", ... for a canonical status code number (gRPC and
/// absl share the numbers); "UNKNOWN" outside 0..16. Taken as an int: a number from the wire
/// cast into either enum is undefined behaviour when out of range.
std::string GrpcCodeName(int code);
inline std::string GrpcCodeName(grpc::StatusCode code) {
  return GrpcCodeName(static_cast<int>(code));
}
inline std::string GrpcCodeName(absl::StatusCode code) {
  return GrpcCodeName(static_cast<int>(code));
}

/// Whether an UNAVAILABLE status was made by this client's gRPC library because no connection
/// to the server could be made or kept (refused, unreachable, TLS handshake failed, connection
/// lost), rather than sent by a server that answered (e.g. "redis unavailable: ..." while its
/// Redis is down).
bool IsConnectionFailure(const grpc::Status& status);

class Output {
 public:
  Output(bool json, std::ostream& out, std::ostream& err) : json_(json), out_(out), err_(err) {}

  bool json() const { return json_; }

  /// Prints `doc` (pretty, 2 spaces) on stdout.
  void Json(const nlohmann::json& doc);

  /// One line of human text on stdout.
  void Line(std::string_view text);

  /// `doc` as one compact line on stdout (JSON Lines: streams such as `message watch`).
  void JsonLine(const nlohmann::json& doc);

  /// Flushes stdout (streams print as events arrive, also into a pipe).
  void Flush();

  /// One line about the command's progress on stderr (`{"notice": text}` with --json), so that
  /// stdout keeps only results (e.g. `message watch` resuming a stream).
  void Notice(std::string_view text);

  /// An aligned table with a header row on stdout; "(none)" for no rows.
  void Table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows);

  /// "key: value" lines with the keys aligned, on stdout.
  void KeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

  /// Prints a failed RPC (code, message, ErrorInfo reason, BadRequest field violations, and a
  /// hint for UNAVAILABLE/UNAUTHENTICATED) on stderr; returns kExitRpcFailed. An UNAVAILABLE
  /// that the server sent (its message printed as is) gets another hint than a connection or
  /// TLS failure (IsConnectionFailure); with --json, "connection_failure" says which.
  int RpcError(std::string_view rpc, const grpc::Status& status);

  /// Prints a local failure on stderr; returns kExitUsage for INVALID_ARGUMENT (bad flags),
  /// kExitLocalError otherwise (files, keys).
  int LocalError(const Status& status);

  /// Prints a verification failure message on stderr (stdout already has the details);
  /// returns kExitVerificationFailed.
  int VerificationFailed(std::string_view message);
  /// The same, with machine-readable details (with --json, added to the error object, e.g. the
  /// ErrorInfo reason and fingerprints of a refused key change; human output prints `message`).
  int VerificationFailed(std::string_view message,
                         const std::vector<std::pair<std::string, std::string>>& details);

 private:
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

/// Display width of UTF-8 text (code points; good enough for Latin names such as "Sürya").
size_t DisplayWidth(std::string_view text);

/// Joins with ", ".
std::string JoinComma(const std::vector<std::string>& items);

}  // namespace concord::ctl
