#include "cli/concordctl/message_args.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/concordctl/agency_format.h"
#include "common/envelope/case_reference.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace concord::ctl {
namespace {

Status FlagError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsIdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

Status ValidateIdChars(std::string_view flag, std::string_view id, size_t min, size_t max) {
  if (id.size() < min || id.size() > max || !std::all_of(id.begin(), id.end(), IsIdChar)) {
    return FlagError(flag, absl::StrCat("must match [A-Za-z0-9_-]{", min, ",", max, "}, got \"",
                                        std::string(id), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<msg::HandlingCode> ParseHandlingCode(std::string_view flag, std::string_view text) {
  const std::string t = Lower(text);
  if (t == "h0") return msg::HANDLING_CODE_H0;
  if (t == "h1") return msg::HANDLING_CODE_H1;
  if (t == "h2") return msg::HANDLING_CODE_H2;
  if (t == "h3") return msg::HANDLING_CODE_H3;
  return FlagError(flag, "must be H0, H1, H2 or H3, got \"" + std::string(text) + "\"");
}

std::string HandlingCodeText(msg::HandlingCode code) {
  switch (code) {
    case msg::HANDLING_CODE_H0:
      return "H0";
    case msg::HANDLING_CODE_H1:
      return "H1";
    case msg::HANDLING_CODE_H2:
      return "H2";
    case msg::HANDLING_CODE_H3:
      return "H3";
    default:
      return "";
  }
}

std::string HandlingCodeMeaning(msg::HandlingCode code) {
  switch (code) {
    case msg::HANDLING_CODE_H0:
      return "use only to prevent and combat crime";
    case msg::HANDLING_CODE_H1:
      return "not to be disclosed in judicial proceedings without the provider's permission";
    case msg::HANDLING_CODE_H2:
      return "not to be disseminated without the provider's permission";
    case msg::HANDLING_CODE_H3:
      return "other restrictions, stated in the handling text";
    default:
      return "";
  }
}

StatusOr<msg::SourceReliability> ParseSourceReliability(std::string_view flag,
                                                        std::string_view text) {
  const std::string t = Lower(text);
  if (t == "a") return msg::SOURCE_RELIABILITY_A;
  if (t == "b") return msg::SOURCE_RELIABILITY_B;
  if (t == "c") return msg::SOURCE_RELIABILITY_C;
  if (t == "x") return msg::SOURCE_RELIABILITY_X;
  return FlagError(flag, "must be A, B, C or X, got \"" + std::string(text) + "\"");
}

StatusOr<msg::InformationAccuracy> ParseInformationAccuracy(std::string_view flag,
                                                            std::string_view text) {
  if (text == "1") return msg::INFORMATION_ACCURACY_1;
  if (text == "2") return msg::INFORMATION_ACCURACY_2;
  if (text == "3") return msg::INFORMATION_ACCURACY_3;
  if (text == "4") return msg::INFORMATION_ACCURACY_4;
  return FlagError(flag, "must be 1, 2, 3 or 4, got \"" + std::string(text) + "\"");
}

StatusOr<std::optional<msg::EvaluationCodes>> ParseEvaluation(std::string_view source,
                                                              std::string_view accuracy) {
  if (source.empty() && accuracy.empty()) return std::optional<msg::EvaluationCodes>();
  if (source.empty() || accuracy.empty()) {
    return FlagError(source.empty() ? "--source" : "--accuracy",
                     "--source and --accuracy go together (Europol evaluation codes)");
  }
  msg::EvaluationCodes codes;
  CONCORD_ASSIGN_OR_RETURN(msg::SourceReliability s, ParseSourceReliability("--source", source));
  CONCORD_ASSIGN_OR_RETURN(msg::InformationAccuracy a,
                           ParseInformationAccuracy("--accuracy", accuracy));
  codes.set_source(s);
  codes.set_information(a);
  return std::optional<msg::EvaluationCodes>(codes);
}

std::string EvaluationText(const msg::Envelope& envelope) {
  if (!envelope.has_evaluation() ||
      envelope.evaluation().source() == msg::SOURCE_RELIABILITY_UNSPECIFIED) {
    return "";
  }
  std::string out;
  switch (envelope.evaluation().source()) {
    case msg::SOURCE_RELIABILITY_A:
      out = "A";
      break;
    case msg::SOURCE_RELIABILITY_B:
      out = "B";
      break;
    case msg::SOURCE_RELIABILITY_C:
      out = "C";
      break;
    case msg::SOURCE_RELIABILITY_X:
      out = "X";
      break;
    default:
      out = "?";
  }
  const int info = static_cast<int>(envelope.evaluation().information());
  if (info >= 1 && info <= 4) {
    absl::StrAppend(&out, info);
  } else {
    absl::StrAppend(&out, "?");
  }
  return out;
}

StatusOr<msg::MessageKind> ParseMessageKind(std::string_view flag, std::string_view text) {
  const std::string t = Lower(text);
  if (t == "information") return msg::MESSAGE_KIND_INFORMATION;
  if (t == "request") return msg::MESSAGE_KIND_REQUEST;
  if (t == "response") return msg::MESSAGE_KIND_RESPONSE;
  if (t == "notification") return msg::MESSAGE_KIND_NOTIFICATION;
  return FlagError(flag, "must be information, request, response or notification, got \"" +
                             std::string(text) + "\"");
}

std::string MessageKindText(msg::MessageKind kind) {
  switch (kind) {
    case msg::MESSAGE_KIND_INFORMATION:
      return "information";
    case msg::MESSAGE_KIND_REQUEST:
      return "request";
    case msg::MESSAGE_KIND_RESPONSE:
      return "response";
    case msg::MESSAGE_KIND_NOTIFICATION:
      return "notification";
    default:
      return "unspecified";
  }
}

StatusOr<msg::Classification> ParseClassification(std::string_view flag, std::string_view text) {
  const std::string t = Lower(text);
  if (t == "unclassified") return msg::CLASSIFICATION_UNCLASSIFIED;
  if (t == "restricted") return msg::CLASSIFICATION_RESTRICTED;
  if (t == "confidential") return msg::CLASSIFICATION_CONFIDENTIAL;
  return FlagError(
      flag, "must be unclassified, restricted or confidential, got \"" + std::string(text) + "\"");
}

std::string ClassificationText(msg::Classification classification) {
  switch (classification) {
    case msg::CLASSIFICATION_UNCLASSIFIED:
      return "unclassified";
    case msg::CLASSIFICATION_RESTRICTED:
      return "restricted";
    case msg::CLASSIFICATION_CONFIDENTIAL:
      return "confidential";
    default:
      return "unspecified";
  }
}

std::string ReceiptKindText(msg::ReceiptKind kind) {
  switch (kind) {
    case msg::RECEIPT_KIND_DELIVERED:
      return "delivered";
    case msg::RECEIPT_KIND_READ:
      return "read";
    default:
      return "unspecified";
  }
}

StatusOr<absl::Duration> ParseTimeToLive(std::string_view flag, std::string_view text) {
  const auto bad = [&] {
    return FlagError(flag,
                     "must be a duration such as 7d, 36h, 1d12h or 90m (units w, d, h, m, "
                     "s; at most 3650d), got \"" +
                         std::string(text) + "\"");
  };
  if (text.empty()) return bad();
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
      if (++digits > 7) return bad();
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (digits == 0 || i == text.size()) return bad();
    switch (text[i]) {
      case 'w':
        total += absl::Hours(24 * 7) * n;
        break;
      case 'd':
        total += absl::Hours(24) * n;
        break;
      case 'h':
        total += absl::Hours(n);
        break;
      case 'm':
        total += absl::Minutes(n);
        break;
      case 's':
        total += absl::Seconds(n);
        break;
      default:
        return bad();
    }
    ++i;
  }
  if (total <= absl::ZeroDuration() || total > absl::Hours(24 * 3650)) return bad();
  return total;
}

Status ValidateMessageId(std::string_view flag, std::string_view id) {
  return ValidateIdChars(flag, id, 16, 64);
}

Status ValidateThreadId(std::string_view flag, std::string_view id) {
  return ValidateIdChars(flag, id, 0, 64);
}

StatusOr<std::vector<concord::common::v1::AgencyId>> ParseRecipients(
    std::string_view flag, const std::vector<std::string>& values, std::string_view trust_domain) {
  if (values.empty()) {
    return FlagError(flag, "at least one recipient: <type>/<id>, e.g. reception_centre/pag-asa");
  }
  if (static_cast<int>(values.size()) > kMaxRecipients) {
    return FlagError(flag,
                     absl::StrCat("at most ", kMaxRecipients, " recipients, got ", values.size()));
  }
  std::vector<concord::common::v1::AgencyId> out;
  std::set<std::string> seen;
  for (const std::string& value : values) {
    CONCORD_ASSIGN_OR_RETURN(concord::common::v1::AgencyId id, ParseAgencyRef(flag, value));
    if (id.trust_domain().empty()) id.set_trust_domain(std::string(trust_domain));
    const std::string key = id.trust_domain() + "|" + AgencyKeyOf(id);
    if (!seen.insert(key).second) {
      return FlagError(flag, "recipient " + AgencyKeyOf(id) + " given twice");
    }
    out.push_back(std::move(id));
  }
  return out;
}

StatusOr<messaging::client::MessageDraft> DraftFromSendArgs(const MessageSendArgs& args) {
  messaging::client::MessageDraft draft;
  if (!args.id.empty()) {
    CONCORD_RETURN_IF_ERROR(ValidateMessageId("--id", args.id));
    draft.message_id = args.id;
  }
  CONCORD_RETURN_IF_ERROR(ValidateThreadId("--thread", args.thread));
  draft.thread_id = args.thread;
  // Security: the case reference travels in clear; only an opaque file number is sent.
  if (!envelope::IsOpaqueCaseReference(args.case_ref)) {
    return FlagError("--case-ref", std::string(envelope::kCaseReferenceRule));
  }
  draft.case_reference = args.case_ref;
  CONCORD_ASSIGN_OR_RETURN(draft.kind, ParseMessageKind("--kind", args.kind));
  CONCORD_ASSIGN_OR_RETURN(draft.classification,
                           ParseClassification("--classification", args.classification));
  if (args.handling.empty()) {
    return FlagError("--handling", "required: H0, H1, H2 or H3 (Europol handling code)");
  }
  CONCORD_ASSIGN_OR_RETURN(draft.handling_code, ParseHandlingCode("--handling", args.handling));
  if (draft.handling_code == msg::HANDLING_CODE_H3) {
    if (args.handling_text.empty() || args.handling_text.size() > 500) {
      return FlagError("--handling-text", "required for H3: 1..500 characters");
    }
  } else if (!args.handling_text.empty()) {
    return FlagError("--handling-text", "only for H3 (H0..H2 carry no text)");
  }
  draft.handling_text = args.handling_text;
  CONCORD_ASSIGN_OR_RETURN(draft.evaluation, ParseEvaluation(args.source, args.accuracy));
  CONCORD_ASSIGN_OR_RETURN(draft.time_to_live, ParseTimeToLive("--expires-in", args.expires_in));
  if (args.body_given == !args.body_file.empty()) {
    return FlagError("--body", "give exactly one of --body TEXT and --body-file FILE");
  }
  if (draft.kind == msg::MESSAGE_KIND_RESPONSE) {
    if (args.in_reply_to.empty()) {
      return FlagError("--in-reply-to", "required for --kind response: the id answered");
    }
  }
  if (!args.in_reply_to.empty()) {
    CONCORD_RETURN_IF_ERROR(ValidateMessageId("--in-reply-to", args.in_reply_to));
  }
  draft.in_reply_to = args.in_reply_to;
  if (args.attach.size() > 16) {
    return FlagError("--attach", "at most 16 attachments");
  }
  return draft;
}

std::string MediaTypeForFileName(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string ext = Lower(name.substr(dot + 1));
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"pdf", "application/pdf"},
      {"txt", "text/plain"},
      {"csv", "text/csv"},
      {"json", "application/json"},
      {"xml", "application/xml"},
      {"html", "text/html"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"gif", "image/gif"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"mp3", "audio/mpeg"},
      {"mp4", "video/mp4"},
      {"zip", "application/zip"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"eml", "message/rfc822"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return std::string(type);
  }
  return "application/octet-stream";
}

std::string BaseName(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string SafeFileName(std::string_view name) {
  std::string out;
  // Both separators: a Windows-made name "C:\x\y.pdf" must not survive as a path either.
  const size_t sep = name.find_last_of("/\\");
  if (sep != std::string_view::npos) name = name.substr(sep + 1);
  for (char c : name) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    out.push_back(ok && static_cast<unsigned char>(c) < 0x80 ? c : '_');
  }
  for (char& c : out) {  // no hidden files, no "." or ".."
    if (c != '.') break;
    c = '_';
  }
  if (out.size() > 128) out = out.substr(out.size() - 128);  // keep the extension
  if (out.empty()) out = "attachment";
  return out;
}

bool IsValidUtf8(std::string_view text) { return ::concord::text::IsValidUtf8(text); }

}  // namespace concord::ctl
