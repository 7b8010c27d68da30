// File: cli/concordctl/message_args.h
//
// The pure half of `concordctl message ...`: flag values to the client library's types
// (handling and evaluation codes, kinds, classifications, durations, recipients, message ids)
// and back to text, plus the small local checks (attachment file names, media types, UTF-8).
// No RPC, no file access: unit-tested in tests/cli/concordctl/message_args_test.cc.
//
// Every parse error is INVALID_ARGUMENT with a field violation naming the flag (exit code 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "client/messaging/message_crypto.h"
#include "common/status/status.h"
#include "concord/common/v1/common.pb.h"
#include "concord/messaging/v1/messaging.pb.h"

namespace concord::ctl {

namespace msg = ::concord::messaging::v1;

/// At most this many recipients per message (the server's limit; proto Envelope.recipients).
inline constexpr int kMaxRecipients = 64;

/// "H0".."H3" (case-insensitive).
StatusOr<msg::HandlingCode> ParseHandlingCode(std::string_view flag, std::string_view text);
/// "H1"; "" for UNSPECIFIED.
std::string HandlingCodeText(msg::HandlingCode code);
/// What the code means (DOMAIN.md section 7), e.g. "not to be disseminated without the
/// provider's permission".
std::string HandlingCodeMeaning(msg::HandlingCode code);

/// "A" | "B" | "C" | "X" (case-insensitive).
StatusOr<msg::SourceReliability> ParseSourceReliability(std::string_view flag,
                                                        std::string_view text);
/// "1".."4".
StatusOr<msg::InformationAccuracy> ParseInformationAccuracy(std::string_view flag,
                                                            std::string_view text);
/// Both flags or neither (the server's rule). nullopt when neither is given.
StatusOr<std::optional<msg::EvaluationCodes>> ParseEvaluation(std::string_view source,
                                                              std::string_view accuracy);
/// "B2"; "" when no evaluation was given.
std::string EvaluationText(const msg::Envelope& envelope);

/// "information" | "request" | "response" | "notification".
StatusOr<msg::MessageKind> ParseMessageKind(std::string_view flag, std::string_view text);
std::string MessageKindText(msg::MessageKind kind);

/// "unclassified" | "restricted" | "confidential".
StatusOr<msg::Classification> ParseClassification(std::string_view flag, std::string_view text);
std::string ClassificationText(msg::Classification classification);

/// "delivered" | "read" for a receipt kind.
std::string ReceiptKindText(msg::ReceiptKind kind);

/// A positive duration: one or more <integer><unit> with unit w, d, h, m or s ("7d", "36h",
/// "1d12h", "90m"). At most 3650 days.
StatusOr<absl::Duration> ParseTimeToLive(std::string_view flag, std::string_view text);

/// Client-chosen message id: [A-Za-z0-9_-]{16,64} (the server's rule).
Status ValidateMessageId(std::string_view flag, std::string_view id);

/// Thread id: [A-Za-z0-9_-]{0,64} (the server's rule).
Status ValidateThreadId(std::string_view flag, std::string_view id);

/// `--to` values: "<type>/<id>" or SPIFFE IDs; the trust domain left empty becomes
/// `trust_domain` (the local agency's). 1..64 distinct agencies.
StatusOr<std::vector<concord::common::v1::AgencyId>> ParseRecipients(
    std::string_view flag, const std::vector<std::string>& values, std::string_view trust_domain);

/// Flags of `message send`, before any file is read.
struct MessageSendArgs {
  std::vector<std::string> to;
  std::string thread;
  std::string case_ref;
  std::string kind = "information";
  std::string classification = "restricted";
  std::string handling;  // required: H0..H3
  std::string handling_text;
  std::string source;    // A|B|C|X, with accuracy
  std::string accuracy;  // 1..4, with source
  std::string expires_in = "30d";
  std::string body;  // --body TEXT
  bool body_given = false;
  std::string body_file;  // --body-file FILE
  std::vector<std::string> attach;
  std::string id;           // --id; empty = random
  std::string in_reply_to;  // --in-reply-to (required for kind response)
};

/// Checks the flags of `message send` and builds the draft (everything but the recipients'
/// sealing keys, the body and the attachments, which need RPCs and files). The handling text is
/// required for H3 and refused otherwise; --body and --body-file exclude each other and one is
/// required.
StatusOr<messaging::client::MessageDraft> DraftFromSendArgs(const MessageSendArgs& args);

/// The media type for an attachment file name, from its extension ("application/pdf" for
/// ".pdf"); "application/octet-stream" when unknown.
std::string MediaTypeForFileName(std::string_view name);

/// The last path component of `path` (the attachment's display name as sent).
std::string BaseName(std::string_view path);

/// A file name to save a received attachment under: the base name of the sender's `name` with
/// every character outside [A-Za-z0-9._-] replaced by '_', never empty, never "." or "..",
/// never starting with '.', at most 128 bytes. The name comes from another agency: it must not
/// choose the directory or hide the file.
std::string SafeFileName(std::string_view name);

/// True iff `text` is valid UTF-8 (JSON output carries the body as text only then).
bool IsValidUtf8(std::string_view text);

}  // namespace concord::ctl
