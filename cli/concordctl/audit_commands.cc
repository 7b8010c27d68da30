// concordctl audit ...: concord.audit.v1.Audit.
#include <google/protobuf/util/time_util.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/local_files.h"
#include "common/audit/checkpoint_export.h"
#include "common/status/status_macros.h"
#include "concord/audit/v1/audit.grpc.pb.h"

namespace concord::ctl {
namespace {

namespace audit = concord::audit::v1;
using concord::audit::ChainAtCheckpoint;
using concord::audit::Checkpoint;
using concord::audit::CheckpointComparison;
using concord::audit::CheckpointKeySource;
using concord::audit::CompareChainWithCheckpoint;
using concord::audit::ExportedCheckpoint;
using concord::audit::ParseExportedCheckpoint;
using concord::audit::VerifyExportedCheckpoint;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

StatusOr<std::unique_ptr<audit::Audit::Stub>> AuditStub(const Globals& globals) {
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  return audit::Audit::NewStub(channel);
}

Status ParseTime(std::string_view flag, const std::string& text, google::protobuf::Timestamp& ts) {
  if (!google::protobuf::util::TimeUtil::FromString(text, &ts)) {
    return UsageError(
        flag, "must be an RFC 3339 time such as 2026-11-28T00:00:00Z, got \"" + text + "\"");
  }
  return absl::OkStatus();
}

std::string OperationText(audit::Operation op) {
  std::string name = audit::Operation_Name(op);
  constexpr std::string_view kPrefix = "OPERATION_";
  if (name.rfind(kPrefix, 0) == 0) {
    name = name.substr(kPrefix.size());
  }
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

// "/concord.directory.v1.Directory/RegisterAgency" -> "Directory/RegisterAgency".
std::string ShortMethod(const std::string& method) {
  const size_t slash = method.rfind('/');
  if (slash == std::string::npos || slash == 0) {
    return method;
  }
  const size_t dot = method.rfind('.', slash);
  return dot == std::string::npos ? method.substr(1) : method.substr(dot + 1);
}

void PrintCheckpoint(const audit::Checkpoint& cp, Output& out) {
  out.KeyValues({{"seq", std::to_string(cp.seq())},
                 {"head hash", HexText(cp.head_hash())},
                 {"time", TimestampText(cp.time())},
                 {"signature", HexText(cp.signature())},
                 {"public key", HexText(cp.public_key())}});
}

// An exported checkpoint as given with --expect-checkpoint.
struct ExpectedCheckpoint {
  std::string path;  // the file actually read
  ExportedCheckpoint exported;
};

// A file, a logged line (the last "audit.checkpoint" line of a log file works too), or a
// directory: its checkpoint-*.json with the highest seq (the names sort by seq).
StatusOr<ExpectedCheckpoint> LoadExpectedCheckpoint(const std::string& path) {
  ExpectedCheckpoint out;
  out.path = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::string latest;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("checkpoint-", 0) == 0 && name.size() > 5 &&
          name.compare(name.size() - 5, 5, ".json") == 0 && name > latest) {
        latest = name;
      }
    }
    if (latest.empty()) {
      return absl::FailedPreconditionError(path + ": no checkpoint-*.json in this directory");
    }
    out.path = (std::filesystem::path(path) / latest).string();
  }
  CONCORD_ASSIGN_OR_RETURN(std::string text, ReadTextFile(out.path));
  // A log file: take its last audit.checkpoint line.
  std::string candidate = text;
  const size_t at = text.rfind("\"event\":\"audit.checkpoint\"");
  if (at != std::string::npos) {
    const size_t begin = text.rfind('\n', at);
    const size_t end = text.find('\n', at);
    candidate =
        text.substr(begin == std::string::npos ? 0 : begin + 1,
                    end == std::string::npos ? std::string::npos
                                             : end - (begin == std::string::npos ? 0 : begin + 1));
  }
  StatusOr<ExportedCheckpoint> parsed = ParseExportedCheckpoint(candidate);
  if (!parsed.ok()) {
    std::string why(parsed.status().message());
    for (const FieldViolation& v : FieldViolationsOf(parsed.status())) {
      why += "; " + v.field + ": " + v.description;
    }
    return absl::FailedPreconditionError(out.path + ": " + why);
  }
  out.exported = *std::move(parsed);
  return out;
}

struct CheckpointResult {
  bool ok = true;
  CheckpointKeySource key_source = CheckpointKeySource::kExportFile;
  CheckpointComparison comparison;
  std::string message;
};

std::string KeySourceText(CheckpointKeySource source) {
  return source == CheckpointKeySource::kPinned
             ? "--expect-key"
             : "the key written in the export (pin it with --expect-key)";
}

// Checks the export's signature, then asks the server to verify records 1..seq and compares
// the hash of record seq with the export. `main` is the answer to the main Verify (its head).
StatusOr<CheckpointResult> CheckAgainstExport(audit::Audit::Stub& stub, const Globals& globals,
                                              const ExpectedCheckpoint& expected,
                                              const audit::VerifyResponse& main,
                                              const std::optional<std::string>& pinned_key,
                                              grpc::Status& rpc_error) {
  CheckpointResult result;
  const Checkpoint& cp = expected.exported.checkpoint;
  StatusOr<CheckpointKeySource> signed_ok = VerifyExportedCheckpoint(expected.exported, pinned_key);
  if (!signed_ok.ok()) {
    if (signed_ok.status().code() != absl::StatusCode::kPermissionDenied) {
      return absl::FailedPreconditionError(expected.path + ": " +
                                           std::string(signed_ok.status().message()));
    }
    result.ok = false;
    result.key_source =
        pinned_key ? CheckpointKeySource::kPinned : CheckpointKeySource::kExportFile;
    result.message = std::string(signed_ok.status().message());
    return result;
  }
  result.key_source = *signed_ok;
  ChainAtCheckpoint chain;
  chain.head_seq = main.head_seq();
  chain.verified = main.ok();
  chain.first_bad_seq = main.first_bad_seq();
  chain.reason = main.reason();
  if (main.head_seq() >= cp.seq) {
    // Records 1..seq, from the genesis hash: their links, and the hash the export names.
    audit::VerifyRequest request;
    request.set_from_seq(1);
    request.set_to_seq(cp.seq);
    grpc::ClientContext context;
    PrepareContext(globals.connection, context);
    audit::VerifyResponse upto;
    rpc_error = stub.Verify(&context, request, &upto);
    if (!rpc_error.ok()) {
      return absl::UnavailableError("Verify of the checkpointed records failed");
    }
    chain.verified = upto.ok();
    chain.first_bad_seq = upto.first_bad_seq();
    chain.reason = upto.reason();
    chain.hash_at_seq = upto.last_hash();
  }
  result.comparison = CompareChainWithCheckpoint(cp, chain);
  result.ok = result.comparison.ok;
  result.message = result.comparison.message;
  return result;
}

nlohmann::json CheckpointResultJson(const ExpectedCheckpoint& expected,
                                    const CheckpointResult& result) {
  nlohmann::json doc = {
      {"file", expected.path},
      {"seq", expected.exported.checkpoint.seq},
      {"ok", result.ok},
      {"key_source",
       result.key_source == CheckpointKeySource::kPinned ? "expect-key" : "export-file"}};
  if (!result.ok) doc["reason"] = result.message;
  if (result.comparison.missing_from != 0) {
    doc["missing_from"] = result.comparison.missing_from;
    doc["missing_to"] = result.comparison.missing_to;
  }
  if (result.comparison.differs_from != 0) doc["differs_from"] = result.comparison.differs_from;
  return doc;
}

int PrintJson(const google::protobuf::Message& message, Output& out) {
  StatusOr<nlohmann::json> doc = ProtoToJson(message);
  if (!doc.ok()) {
    return out.LocalError(doc.status());
  }
  out.Json(*doc);
  return kExitOk;
}

}  // namespace

int RunAuditQuery(const Globals& globals, const AuditQueryArgs& args, Output& out) {
  audit::QueryRequest request;
  if (!args.object.empty() && !args.agency.empty()) {
    return out.LocalError(UsageError("--object", "give --object or --agency, not both"));
  }
  if (!args.object.empty()) {
    request.set_object(args.object);
  }
  if (!args.agency.empty()) {
    StatusOr<concord::common::v1::AgencyId> id = ParseAgencyRef("--agency", args.agency);
    if (!id.ok()) {
      return out.LocalError(id.status());
    }
    *request.mutable_agency() = *id;
  }
  if (!args.from.empty()) {
    if (Status st = ParseTime("--from", args.from, *request.mutable_time_range()->mutable_from());
        !st.ok()) {
      return out.LocalError(st);
    }
  }
  if (!args.to.empty()) {
    if (Status st = ParseTime("--to", args.to, *request.mutable_time_range()->mutable_to());
        !st.ok()) {
      return out.LocalError(st);
    }
  }
  if (args.page_size < 0 || args.page_size > 500) {
    return out.LocalError(UsageError("--page-size", "must be 0..500"));
  }
  if (args.limit <= 0) {
    return out.LocalError(UsageError("--limit", "must be positive"));
  }
  request.mutable_page()->set_page_size(args.page_size);
  request.mutable_page()->set_page_token(args.page_token);
  auto stub = AuditStub(globals);
  if (!stub.ok()) {
    return out.LocalError(stub.status());
  }
  const bool single_page = !args.page_token.empty();
  audit::QueryResponse all;
  while (true) {
    grpc::ClientContext context;
    PrepareContext(globals.connection, context);
    audit::QueryResponse response;
    const grpc::Status status = (*stub)->Query(&context, request, &response);
    if (!status.ok()) {
      return out.RpcError("Audit/Query", status);
    }
    all.mutable_records()->MergeFrom(response.records());
    all.set_next_page_token(response.next_page_token());
    if (single_page || response.next_page_token().empty() || all.records_size() >= args.limit ||
        response.records_size() == 0) {
      break;
    }
    request.mutable_page()->set_page_token(response.next_page_token());
  }
  if (out.json()) {
    return PrintJson(all, out);
  }
  std::vector<std::vector<std::string>> rows;
  for (const audit::AuditRecord& r : all.records()) {
    rows.push_back({std::to_string(r.seq()), TimestampText(r.time()), AgencyKeyOf(r.agency()),
                    r.officer(), OperationText(r.operation()), r.object(), ShortMethod(r.method()),
                    r.outcome(), r.source().empty() ? "-" : r.source(), r.details()});
  }
  out.Table({"SEQ", "TIME", "AGENCY", "OFFICER", "OPERATION", "OBJECT", "METHOD", "OUTCOME",
             "SOURCE", "DETAILS"},
            rows);
  if (!all.next_page_token().empty()) {
    out.Line("more records: --page-token " + all.next_page_token());
  }
  return kExitOk;
}

int RunAuditVerify(const Globals& globals, const AuditVerifyArgs& args, Output& out) {
  if (args.to_seq != 0 && args.from_seq > args.to_seq) {
    return out.LocalError(UsageError("--from-seq", "must not be after --to-seq"));
  }
  std::string expected_key;
  if (!args.expect_key_file.empty()) {
    StatusOr<std::string> raw = ReadRawPublicKey(args.expect_key_file, "ED25519");
    if (!raw.ok()) {
      return out.LocalError(raw.status());
    }
    expected_key = *raw;
  }
  std::optional<ExpectedCheckpoint> expected_cp;
  if (!args.expect_checkpoint.empty()) {
    StatusOr<ExpectedCheckpoint> loaded = LoadExpectedCheckpoint(args.expect_checkpoint);
    if (!loaded.ok()) {
      return out.LocalError(loaded.status());
    }
    expected_cp = *std::move(loaded);
  }
  auto stub = AuditStub(globals);
  if (!stub.ok()) {
    return out.LocalError(stub.status());
  }
  audit::VerifyRequest request;
  request.set_from_seq(args.from_seq);
  request.set_to_seq(args.to_seq);
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  audit::VerifyResponse response;
  const grpc::Status status = (*stub)->Verify(&context, request, &response);
  if (!status.ok()) {
    return out.RpcError("Audit/Verify", status);
  }
  // Key pinning: the checkpoints must be signed by the audit key the operator expects, not by
  // whatever key the server reports.
  const bool key_mismatch = !expected_key.empty() && response.checkpoints_checked() > 0 &&
                            response.last_checkpoint().public_key() != expected_key;
  // Security: the exported checkpoint is what Redis cannot change. Its signature first (with
  // the pinned key when given), then the chain against it.
  std::optional<CheckpointResult> cp_result;
  if (expected_cp) {
    grpc::Status rpc_error;
    StatusOr<CheckpointResult> checked = CheckAgainstExport(
        **stub, globals, *expected_cp, response,
        expected_key.empty() ? std::nullopt : std::optional<std::string>(expected_key), rpc_error);
    if (!rpc_error.ok()) {
      return out.RpcError("Audit/Verify", rpc_error);
    }
    if (!checked.ok()) {
      return out.LocalError(checked.status());
    }
    cp_result = *std::move(checked);
  }
  const bool ok = response.ok() && !key_mismatch && (!cp_result || cp_result->ok);
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(response);
    if (!doc.ok()) {
      return out.LocalError(doc.status());
    }
    if (!expected_key.empty()) {
      (*doc)["checkpoint_key_matches"] = !key_mismatch;
    }
    if (cp_result) {
      (*doc)["expected_checkpoint"] = CheckpointResultJson(*expected_cp, *cp_result);
    }
    out.Json(*doc);
  } else if (cp_result && !cp_result->ok) {
    out.Line("audit chain BROKEN: " + cp_result->message);
    out.Line("  exported checkpoint: record " +
             std::to_string(expected_cp->exported.checkpoint.seq) + " (" + expected_cp->path +
             "), signature checked with " + KeySourceText(cp_result->key_source));
    if (!response.ok()) {
      out.Line("  and the stored chain fails verification at record " +
               std::to_string(response.first_bad_seq()) + ": " + response.reason());
    }
  } else if (!response.ok()) {
    out.Line("audit chain BROKEN at record " + std::to_string(response.first_bad_seq()) + ": " +
             response.reason());
  } else if (key_mismatch) {
    out.Line("audit chain BROKEN at record " + std::to_string(response.last_checkpoint().seq()) +
             ": checkpoint signed by an unexpected key " +
             HexText(response.last_checkpoint().public_key()) + " (not --expect-key)");
  } else {
    out.Line("audit chain OK: " + std::to_string(response.records_checked()) + " records, " +
             std::to_string(response.checkpoints_checked()) + " checkpoints");
    std::string detail = "  records " + std::to_string(response.from_seq()) + ".." +
                         std::to_string(response.to_seq()) + " of head " +
                         std::to_string(response.head_seq());
    if (response.checkpoints_checked() > 0) {
      detail += "; last checkpoint at record " + std::to_string(response.last_checkpoint().seq()) +
                (expected_key.empty() ? "" : ", signed by the expected key");
    }
    out.Line(detail);
    if (cp_result) {
      out.Line("  exported checkpoint at record " +
               std::to_string(expected_cp->exported.checkpoint.seq) +
               " matches the chain (signature checked with " +
               KeySourceText(cp_result->key_source) + ")");
    }
  }
  return ok ? kExitOk : kExitVerificationFailed;
}

int RunAuditCheckpoint(const Globals& globals, const AuditCheckpointArgs& args, Output& out) {
  auto stub = AuditStub(globals);
  if (!stub.ok()) {
    return out.LocalError(stub.status());
  }
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  if (args.create) {
    audit::CreateCheckpointResponse response;
    const grpc::Status status =
        (*stub)->CreateCheckpoint(&context, audit::CreateCheckpointRequest(), &response);
    if (!status.ok()) {
      return out.RpcError("Audit/CreateCheckpoint", status);
    }
    if (out.json()) {
      return PrintJson(response, out);
    }
    out.Line("signed checkpoint of the chain head:");
    PrintCheckpoint(response.checkpoint(), out);
    return kExitOk;
  }
  audit::GetCheckpointResponse response;
  const grpc::Status status =
      (*stub)->GetCheckpoint(&context, audit::GetCheckpointRequest(), &response);
  if (!status.ok()) {
    return out.RpcError("Audit/GetCheckpoint", status);
  }
  if (out.json()) {
    return PrintJson(response, out);
  }
  out.Line("latest signed checkpoint (chain head now at record " +
           std::to_string(response.head_seq()) + "):");
  PrintCheckpoint(response.checkpoint(), out);
  return kExitOk;
}

}  // namespace concord::ctl
