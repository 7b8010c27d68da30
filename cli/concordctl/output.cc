#include "cli/concordctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

#include "absl/status/status.h"
#include "cli/concordctl/exit_codes.h"
#include "common/status/grpc_status.h"

namespace concord::ctl {
namespace {

void PrintRow(std::ostream& out, const std::vector<std::string>& cells,
              const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 < cells.size()) {
      line.append(widths[i] - DisplayWidth(cells[i]) + 2, ' ');
    }
  }
  out << line << '\n';
}

std::string HintFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (!IsConnectionFailure(status)) {
        return "the server answered but cannot serve the call now (its message above says why, "
               "e.g. its Redis is unavailable): retry later";
      }
      return "the server is unreachable or refused the TLS handshake: check --server, --ca, and "
             "that your certificate is valid and issued by the server's CA";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "the server does not accept this certificate's identity: it needs exactly one "
             "agency SPIFFE URI SAN, and the agency must not be suspended nor the serial revoked";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "your agency type may not call this RPC (see docs/security.md, policy table)";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "no answer within --timeout";
    default:
      return "";
  }
}

}  // namespace

StatusOr<nlohmann::json> ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  const auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) {
    return absl::InternalError("cannot render the reply as JSON");
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InternalError("cannot render the reply as JSON");
  }
  return doc;
}

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

bool IsConnectionFailure(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  // A server's own status may carry details (ErrorInfo, RetryInfo); gRPC's client never adds any.
  if (!status.error_details().empty()) return false;
  // The texts gRPC 1.51's client (core) gives a call that found no connection or lost it.
  static constexpr std::string_view kClientTexts[] = {
      "failed to connect to all addresses",
      "connections to all backends failing",
      "Failed to connect to remote host",
      "empty address list",
      "DNS resolution failed",
      "Socket closed",
      "Connection reset by peer",
      "Broken pipe",
      "Endpoint read failed",
      "Ssl handshake failed",
      "Handshake failed",
      "keepalive watchdog timeout",
      "GOAWAY received",
      "Transport closed",
  };
  const std::string& message = status.error_message();
  for (std::string_view text : kClientTexts) {
    if (message.rfind(text, 0) == 0) return true;  // gRPC's text leads the message
  }
  return false;
}

size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

// Invalid UTF-8 (text from another agency) is replaced, never thrown on.
void Output::Json(const nlohmann::json& doc) {
  out_ << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void Output::Line(std::string_view text) { out_ << text << '\n'; }

void Output::JsonLine(const nlohmann::json& doc) {
  out_ << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void Output::Flush() { out_.flush(); }

void Output::Notice(std::string_view text) {
  if (json_) {
    err_ << nlohmann::json{{"notice", std::string(text)}}.dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace)
         << '\n';
  } else {
    err_ << text << '\n';
  }
  err_.flush();
}

void Output::Table(const std::vector<std::string>& headers,
                   const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) {
    out_ << "(none)\n";
    return;
  }
  std::vector<size_t> widths(headers.size(), 0);
  for (size_t i = 0; i < headers.size(); ++i) {
    widths[i] = DisplayWidth(headers[i]);
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  PrintRow(out_, headers, widths);
  for (const auto& row : rows) {
    PrintRow(out_, row, widths);
  }
}

void Output::KeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) {
    width = std::max(width, DisplayWidth(key));
  }
  for (const auto& [key, value] : rows) {
    out_ << key << ':' << std::string(width - DisplayWidth(key) + 1, ' ') << value << '\n';
  }
}

int Output::RpcError(std::string_view rpc, const grpc::Status& status) {
  const Status rich = FromGrpcStatus(status);
  const std::vector<FieldViolation> violations = FieldViolationsOf(rich);
  const std::string reason = ReasonOf(rich);
  const std::string code = GrpcCodeName(status.error_code());
  // A PERMISSION_DENIED with a domain reason (BAD_SIGNATURE, H2_FORWARD_WITHOUT_PERMISSION, ...)
  // is not about the policy table: its message says what to do.
  const bool policy_reason = reason.empty() || reason == "POLICY_DENIED" || reason == "NO_POLICY";
  const std::string hint =
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED && !policy_reason
          ? ""
          : HintFor(status);
  if (json_) {
    nlohmann::json doc = {{"rpc", std::string(rpc)},
                          {"code", code},
                          {"code_number", static_cast<int>(status.error_code())},
                          {"message", status.error_message()}};
    if (!reason.empty()) {
      doc["reason"] = reason;
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      doc["connection_failure"] = IsConnectionFailure(status);
    }
    if (!violations.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& v : violations) {
        list.push_back({{"field", v.field}, {"description", v.description}});
      }
      doc["field_violations"] = std::move(list);
    }
    err_ << nlohmann::json{{"error", doc}}.dump(2) << '\n';
    return kExitRpcFailed;
  }
  err_ << "error: " << rpc << " failed: " << code;
  if (!status.error_message().empty()) {
    err_ << ": " << status.error_message();
  }
  err_ << '\n';
  if (!reason.empty()) {
    err_ << "  reason: " << reason << '\n';
  }
  for (const auto& v : violations) {
    err_ << "  field " << v.field << ": " << v.description << '\n';
  }
  if (!hint.empty()) {
    err_ << "  hint: " << hint << '\n';
  }
  return kExitRpcFailed;
}

int Output::LocalError(const Status& status) {
  const bool usage = status.code() == absl::StatusCode::kInvalidArgument;
  const std::vector<FieldViolation> violations = FieldViolationsOf(status);
  const std::string message(status.message().data(), status.message().size());
  if (json_) {
    nlohmann::json doc = {{"code", usage ? "USAGE" : "LOCAL"}, {"message", message}};
    for (const auto& v : violations) {
      doc["field_violations"].push_back({{"field", v.field}, {"description", v.description}});
    }
    err_ << nlohmann::json{{"error", doc}}.dump(2) << '\n';
  } else {
    err_ << "error: " << message << '\n';
    for (const auto& v : violations) {
      err_ << "  " << v.field << ": " << v.description << '\n';
    }
  }
  return usage ? kExitUsage : kExitLocalError;
}

int Output::VerificationFailed(std::string_view message) { return VerificationFailed(message, {}); }

int Output::VerificationFailed(std::string_view message,
                               const std::vector<std::pair<std::string, std::string>>& details) {
  if (json_) {
    nlohmann::json error = {{"code", "VERIFICATION_FAILED"}, {"message", std::string(message)}};
    for (const auto& [k, v] : details) error[k] = v;
    err_ << nlohmann::json{{"error", error}}.dump(2) << '\n';
  } else {
    err_ << "error: " << message << '\n';
  }
  return kExitVerificationFailed;
}

}  // namespace concord::ctl
