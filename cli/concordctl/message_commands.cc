// concordctl message ...: concord.messaging.v1.Messaging over the agency-side client library
// (client/messaging). Sealing, opening, signing and verifying happen here, in the agency's
// process, with the keys of its agency directory; the server only ever sees ciphertext.
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "client/messaging/messaging_client.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::ctl {
namespace {

namespace mc = ::concord::messaging::client;
using AgencyProto = ::concord::common::v1::AgencyId;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

Status FileError(const std::string& path, std::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", std::string(what)));
}

// A failure of the client library that came from an RPC: printed like any failed RPC (exit 2).
int RpcFailure(Output& out, std::string_view rpc, const Status& status) {
  return out.RpcError(rpc, ToGrpcStatus(status));
}

std::string Message(const Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// ---- the local agency ----------------------------------------------------------------------

enum class Need { kNo, kYes };

// DIR/<default_name> of --agency-dir unless `flag_value` is given.
StatusOr<std::string> KeyFile(const ConnectionOptions& connection, const std::string& flag_value,
                              std::string_view flag, std::string_view default_name) {
  if (!flag_value.empty()) return flag_value;
  if (!connection.agency_dir.empty()) {
    return connection.agency_dir + "/" + std::string(default_name);
  }
  return UsageError(flag, absl::StrCat("give the key file, or --agency-dir DIR (DIR/",
                                       std::string(default_name), ")"));
}

// The local agency and its private message keys. A key not needed by the command is replaced
// by a throw-away one (the library's SenderIdentity holds both): it never signs or opens.
StatusOr<mc::SenderIdentity> LoadIdentity(const Globals& globals, const MessageKeyArgs& keys,
                                          Need signing, Need sealing) {
  CONCORD_ASSIGN_OR_RETURN(AgencyProto agency, LocalAgency(globals.connection));
  crypto::Ed25519PrivateKey sign = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey seal = crypto::X25519PrivateKey::Generate();
  if (signing == Need::kYes) {
    CONCORD_ASSIGN_OR_RETURN(std::string path, KeyFile(globals.connection, keys.signing_key_file,
                                                       "--signing-key", "sign.key"));
    CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
    StatusOr<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromPem(pem);
    if (!key.ok()) return FileError(path, "not an unencrypted Ed25519 private key (PEM)");
    sign = *std::move(key);
  }
  if (sealing == Need::kYes) {
    CONCORD_ASSIGN_OR_RETURN(std::string path, KeyFile(globals.connection, keys.sealing_key_file,
                                                       "--sealing-key-file", "seal.key"));
    CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
    StatusOr<crypto::X25519PrivateKey> key = crypto::X25519PrivateKey::FromPem(pem);
    if (!key.ok()) return FileError(path, "not an unencrypted X25519 private key (PEM)");
    seal = *std::move(key);
  }
  return mc::SenderIdentity{std::move(agency), std::move(sign), std::move(seal)};
}

StatusOr<std::unique_ptr<mc::MessagingClient>> MakeClient(const Globals& globals,
                                                          mc::SenderIdentity identity,
                                                          std::shared_ptr<grpc::Channel>* raw) {
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  if (raw != nullptr) *raw = channel;
  mc::ClientOptions options;
  options.deadline =
      absl::Milliseconds(static_cast<int64_t>(globals.connection.timeout_seconds * 1000));
  options.officer = globals.connection.officer;
  options.justification = globals.connection.justification;
  // Key continuity: every key lookup of this client goes through the known-keys file.
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<keys::KeyTrust> trust, OpenKeyTrust(globals.connection));
  return std::make_unique<mc::MessagingClient>(std::move(channel), std::move(identity), options,
                                               TrustHook(std::move(trust)));
}

// Directory keys of other agencies, looked up once per command.
class KeyCache {
 public:
  explicit KeyCache(mc::MessagingClient& client) : client_(client) {}

  StatusOr<const mc::AgencyPublicKeys*> Get(const AgencyProto& agency) {
    const std::string key = agency.trust_domain() + "|" + AgencyKeyOf(agency);
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      CONCORD_ASSIGN_OR_RETURN(mc::AgencyPublicKeys keys, client_.LookupKeys(agency));
      it = keys_.emplace(key, std::move(keys)).first;
    }
    return &it->second;
  }

 private:
  mc::MessagingClient& client_;
  std::map<std::string, mc::AgencyPublicKeys> keys_;
};

std::string LookupRpc(const AgencyProto& agency) {
  return "Directory/GetAgency (keys of " + AgencyKeyOf(agency) + ")";
}

// ---- envelope text -------------------------------------------------------------------------

std::vector<std::string> AgencyKeys(
    const google::protobuf::RepeatedPtrField<AgencyProto>& agencies) {
  std::vector<std::string> out;
  for (const AgencyProto& a : agencies) out.push_back(AgencyKeyOf(a));
  return out;
}

std::vector<std::string> SealedFor(const msg::Envelope& envelope) {
  std::vector<std::string> out;
  for (const msg::WrappedKey& k : envelope.body().keys()) out.push_back(k.recipient());
  return out;
}

// The handling code and, for H3, its text (sealed in envelope v2: known once opened).
std::string HandlingLine(msg::HandlingCode code, const std::string& text) {
  std::string line = HandlingCodeText(code);
  const std::string meaning = HandlingCodeMeaning(code);
  if (!meaning.empty()) line += " (" + meaning + ")";
  if (!text.empty()) line += ": " + text;
  return line;
}

std::string EvaluationLine(const msg::Envelope& e) {
  const std::string codes = EvaluationText(e);
  if (codes.empty()) return "none";
  return codes + " (source reliability " + codes.substr(0, 1) + ", information accuracy " +
         codes.substr(1) + ")";
}

// Header fields common to inbox entries, deliveries and read output (no plaintext).
nlohmann::json HeaderJson(const msg::Envelope& e) {
  nlohmann::json doc = {
      {"message_id", e.message_id()},
      {"envelope_version", e.version() == 0 ? 1u : e.version()},
      {"sender", AgencyKeyOf(e.sender())},
      {"recipients", AgencyKeys(e.recipients())},
      {"thread_id", e.thread_id()},
      {"case_reference", e.case_reference()},
      {"kind", MessageKindText(e.kind())},
      {"classification", ClassificationText(e.classification())},
      {"handling_code", HandlingCodeText(e.handling_code())},
      {"evaluation", EvaluationText(e)},
      {"created_at", TimestampText(e.created_at())},
      {"expires_at", TimestampText(e.expires_at())},
      {"in_reply_to", e.in_reply_to()},
      {"attachments", e.attachments_size()},
  };
  if (e.has_forward()) {
    doc["forwarded_from"] = {{"message_id", e.forward().original_message_id()},
                             {"sender", AgencyKeyOf(e.forward().original_sender())},
                             {"with_permission", e.forward().has_permission()}};
    if (!e.forward().root_message_id().empty()) {
      doc["forwarded_from"]["root_message_id"] = e.forward().root_message_id();
      doc["forwarded_from"]["root_sender"] = AgencyKeyOf(e.forward().root_sender());
    }
  }
  return doc;
}

// ---- files ---------------------------------------------------------------------------------

// Writes `content` to `path` (mode 600: attachments are case material). Refuses to replace an
// existing file unless `overwrite`.
Status WriteFile(const std::string& path, std::string_view content, bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    return FileError(path, errno == EEXIST ? "exists (use --overwrite to replace it)"
                                           : "cannot create the file");
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return FileError(path, "write error");
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return FileError(path, "write error");
  return absl::OkStatus();
}

Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return FileError(dir, "cannot create the directory");
  }
  return absl::OkStatus();
}

// ---- watch: SIGINT/SIGTERM stop the stream cleanly -------------------------------------------

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void OnStopSignal(int signal) { g_stop_signal = signal; }

class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  static bool received() { return g_stop_signal != 0; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

// ---- send ----------------------------------------------------------------------------------

int RunMessageSend(const Globals& globals, const MessageKeyArgs& keys, const MessageSendArgs& args,
                   Output& out) {
  StatusOr<mc::MessageDraft> draft = DraftFromSendArgs(args);
  if (!draft.ok()) return out.LocalError(draft.status());
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, keys, Need::kYes, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<std::vector<AgencyProto>> recipients =
      ParseRecipients("--to", args.to, me->agency.trust_domain());
  if (!recipients.ok()) return out.LocalError(recipients.status());
  if (args.body_given) {
    draft->body = args.body;
  } else {
    StatusOr<std::string> body = ReadTextFile(args.body_file);
    if (!body.ok()) return out.LocalError(body.status());
    draft->body = *std::move(body);
  }
  std::vector<mc::FileToAttach> files;
  for (const std::string& path : args.attach) {
    StatusOr<std::string> content = ReadTextFile(path);
    if (!content.ok()) return out.LocalError(content.status());
    const std::string name = BaseName(path);
    files.push_back({name, MediaTypeForFileName(name), *std::move(content)});
  }
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());

  // The library's SendMessage, step by step, so that each failure names its RPC.
  KeyCache directory(**client);
  for (const AgencyProto& r : *recipients) {
    StatusOr<const mc::AgencyPublicKeys*> k = directory.Get(r);
    if (!k.ok()) return KeyLookupFailure(out, LookupRpc(r), k.status());
    draft->recipients.push_back({r, (*k)->sealing_key});
  }
  nlohmann::json attachments = nlohmann::json::array();
  for (const mc::FileToAttach& f : files) {
    StatusOr<mc::SealedAttachment> sealed =
        mc::SealAttachment("", f.name, f.media_type, f.content, draft->recipients);
    if (!sealed.ok()) return out.LocalError(sealed.status());
    if (auto up = (*client)->Upload(*sealed); !up.ok()) {
      return RpcFailure(out, "UploadAttachment (" + f.name + ")", up.status());
    }
    draft->attachments.push_back(sealed->reference);
    attachments.push_back({{"name", f.name},
                           {"media_type", f.media_type},
                           {"size", f.content.size()},
                           {"sha256", crypto::Sha256Hex(f.content)},
                           {"attachment_id", sealed->reference.attachment_id()}});
  }
  StatusOr<msg::Envelope> envelope = mc::BuildEnvelope(*me, *draft, absl::Now());
  if (!envelope.ok()) return out.LocalError(envelope.status());
  StatusOr<msg::SendResponse> sent = (*client)->Send(*envelope);
  if (!sent.ok()) return RpcFailure(out, "Send", sent.status());

  const std::vector<std::string> to = AgencyKeys(envelope->recipients());
  if (out.json()) {
    out.Json({{"message_id", sent->message_id()},
              {"duplicate", sent->duplicate()},
              {"envelope_sha256", HexText(sent->envelope_sha256())},
              {"accepted_at", TimestampText(sent->accepted_at())},
              {"sender", AgencyKeyOf(envelope->sender())},
              {"recipients", to},
              {"handling_code", HandlingCodeText(envelope->handling_code())},
              {"expires_at", TimestampText(envelope->expires_at())},
              {"attachments", attachments}});
    return kExitOk;
  }
  out.Line(sent->duplicate() ? "duplicate: the server already had message " + sent->message_id() +
                                   " (nothing new was stored)"
                             : "sent message " + sent->message_id());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"message id", sent->message_id()},
      {"duplicate", sent->duplicate() ? "yes" : "no"},
      {"from", AgencyKeyOf(envelope->sender())},
      {"to", JoinComma(to)},
      {"handling", HandlingLine(envelope->handling_code(), draft->handling_text)},
      {"evaluation", EvaluationLine(*envelope)},
      {"expires", TimestampText(envelope->expires_at())},
      {"accepted", TimestampText(sent->accepted_at())},
      {"envelope sha256", HexText(sent->envelope_sha256())},
  };
  for (const auto& a : attachments) {
    rows.emplace_back("attachment", a["name"].get<std::string>() + " (" +
                                        std::to_string(a["size"].get<size_t>()) +
                                        " bytes, sha256 " + a["sha256"].get<std::string>() + ")");
  }
  out.KeyValues(rows);
  return kExitOk;
}

// ---- inbox ---------------------------------------------------------------------------------

int RunMessageInbox(const Globals& globals, const MessageInboxArgs& args, Output& out) {
  msg::ListInboxRequest request;
  if (Status st = ValidateThreadId("--thread", args.thread); !st.ok()) return out.LocalError(st);
  request.set_thread_id(args.thread);
  if (!args.kind.empty()) {
    StatusOr<msg::MessageKind> kind = ParseMessageKind("--kind", args.kind);
    if (!kind.ok()) return out.LocalError(kind.status());
    request.set_kind(*kind);
  }
  request.set_unacknowledged_only(args.unacked);
  if (args.page_size < 0 || args.page_size > 500) {
    return out.LocalError(UsageError("--page-size", "must be 0..500 (0 = server default)"));
  }
  request.mutable_page()->set_page_size(args.page_size);
  request.mutable_page()->set_page_token(args.page_token);
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, {}, Need::kNo, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());
  StatusOr<msg::ListInboxResponse> page = (*client)->ListInbox(request);
  if (!page.ok()) return RpcFailure(out, "ListInbox", page.status());

  if (out.json()) {
    nlohmann::json entries = nlohmann::json::array();
    for (const msg::InboxEntry& entry : page->entries()) {
      nlohmann::json doc = HeaderJson(entry.envelope());
      doc["accepted_at"] = TimestampText(entry.accepted_at());
      doc["acknowledged"] = entry.acknowledged();
      entries.push_back(std::move(doc));
    }
    out.Json({{"entries", entries}, {"next_page_token", page->next_page_token()}});
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const msg::InboxEntry& entry : page->entries()) {
    const msg::Envelope& e = entry.envelope();
    rows.push_back({e.message_id(), AgencyKeyOf(e.sender()), MessageKindText(e.kind()),
                    HandlingCodeText(e.handling_code()), TimestampText(e.created_at()),
                    entry.acknowledged() ? "yes" : "no", std::to_string(e.attachments_size())});
  }
  out.Table({"ID", "FROM", "KIND", "HANDLING", "CREATED", "ACKED", "ATTACHMENTS"}, rows);
  if (!page->next_page_token().empty()) {
    out.Line("next page: --page-token " + page->next_page_token());
  }
  return kExitOk;
}

// ---- read ----------------------------------------------------------------------------------

int RunMessageRead(const Globals& globals, const MessageKeyArgs& keys, const MessageReadArgs& args,
                   Output& out) {
  if (Status st = ValidateMessageId("ID", args.id); !st.ok()) return out.LocalError(st);
  StatusOr<mc::SenderIdentity> me =
      LoadIdentity(globals, keys, args.receipt ? Need::kYes : Need::kNo, Need::kYes);
  if (!me.ok()) return out.LocalError(me.status());
  if (!args.out_dir.empty()) {
    if (Status st = EnsureDirectory(args.out_dir); !st.ok()) return out.LocalError(st);
  }
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());

  StatusOr<msg::InboxEntry> entry = (*client)->Get(args.id);
  if (!entry.ok()) return RpcFailure(out, "Get", entry.status());
  const msg::Envelope& e = entry->envelope();
  const std::string sender = AgencyKeyOf(e.sender());
  const std::string myself = AgencyKeyOf(me->agency);

  std::vector<std::pair<std::string, std::string>> header = {
      {"message", e.message_id()},
      {"from", sender},
      {"to", JoinComma(AgencyKeys(e.recipients()))},
  };
  // Human output shows what was checked before failing; JSON output stays empty on failure.
  const auto print_header = [&] {
    if (out.json()) return;
    for (const auto& [k, v] : header) out.Line(k + ": " + v);
    header.clear();
  };

  // 1. The signature, against the sender's key in the directory (never a key in the message).
  KeyCache directory(**client);
  StatusOr<const mc::AgencyPublicKeys*> sender_keys = directory.Get(e.sender());
  if (!sender_keys.ok()) return KeyLookupFailure(out, LookupRpc(e.sender()), sender_keys.status());
  if (!mc::VerifyEnvelope(e, (*sender_keys)->signing_key).ok()) {
    header.emplace_back("signature", "INVALID (sender " + sender + ", Ed25519)");
    print_header();
    return out.VerificationFailed("signature INVALID: message " + e.message_id() +
                                  " does not verify under the directory signing key of " + sender +
                                  " (altered, or not signed by that agency); it was not opened");
  }
  header.emplace_back("signature", "verified (sender " + sender + ", Ed25519)");

  // 2. Open the body with this agency's sealing key (v2: the unwrapped content key must match
  // the signed commitment; the sealed content holds the H3 text and the attachment names).
  const std::vector<std::string> sealed_for = SealedFor(e);
  StatusOr<mc::OpenedContent> content = mc::OpenContent(e, me->agency, me->sealing_key);
  if (!content.ok()) {
    header.emplace_back("sealed for", JoinComma(sealed_for));
    print_header();
    if (content.status().code() == absl::StatusCode::kNotFound) {
      return out.VerificationFailed("cannot open message " + e.message_id() +
                                    ": the body is not sealed for " + myself);
    }
    return out.VerificationFailed("cannot open message " + e.message_id() +
                                  ": the sealed body does not open with the sealing key of " +
                                  myself + " (" + Message(content.status()) + ")");
  }
  const std::string* body = &content->body;
  header.emplace_back("sealed for",
                      JoinComma(sealed_for) + " (opened with the sealing key of " + myself + ")");
  header.emplace_back("kind", MessageKindText(e.kind()));
  header.emplace_back("classification", ClassificationText(e.classification()));
  header.emplace_back("handling", HandlingLine(e.handling_code(), content->handling_text));
  header.emplace_back("evaluation", EvaluationLine(e));
  if (!e.thread_id().empty()) header.emplace_back("thread", e.thread_id());
  if (!e.case_reference().empty()) header.emplace_back("case", e.case_reference());
  if (!e.in_reply_to().empty()) header.emplace_back("in reply to", e.in_reply_to());
  if (e.has_forward()) {
    header.emplace_back(
        "forwarded from",
        e.forward().original_message_id() + " (sent by " +
            AgencyKeyOf(e.forward().original_sender()) + ")" +
            (e.forward().has_permission() ? ", with the provider's permission" : ""));
    if (!e.forward().root_message_id().empty() &&
        e.forward().root_message_id() != e.forward().original_message_id()) {
      header.emplace_back("original provider", e.forward().root_message_id() + " (sent by " +
                                                   AgencyKeyOf(e.forward().root_sender()) + ")");
    }
  }
  header.emplace_back("created", TimestampText(e.created_at()));
  header.emplace_back("expires", TimestampText(e.expires_at()));
  header.emplace_back("accepted", TimestampText(entry->accepted_at()));

  // 3. Attachments: listed (names and digests from the sealed content); with --out-dir
  // downloaded, checked against the signed reference (chunk digests, key commitments, size,
  // plaintext SHA-256) and saved.
  nlohmann::json attachments = nlohmann::json::array();
  std::set<std::string> used_names;
  for (const mc::OpenedAttachment& a : content->attachments) {
    const std::string sha = HexText(a.sha256);
    nlohmann::json doc = {{"attachment_id", a.attachment_id},
                          {"name", a.name},
                          {"media_type", a.media_type},
                          {"size", a.size},
                          {"sha256", sha}};
    std::string line = a.name + " (" + a.media_type + ", " + std::to_string(a.size) +
                       " bytes, sha256 " + sha + ")";
    if (!args.out_dir.empty()) {
      StatusOr<std::vector<msg::AttachmentChunk>> chunks =
          (*client)->DownloadChunks(e.message_id(), a.attachment_id);
      if (!chunks.ok()) {
        return RpcFailure(out, "DownloadAttachment (" + a.name + ")", chunks.status());
      }
      StatusOr<std::string> plain =
          mc::OpenAttachment(e, *content, a.attachment_id, *chunks, me->agency, me->sealing_key);
      if (!plain.ok()) {
        print_header();
        return out.VerificationFailed("attachment " + a.name + " of message " + e.message_id() +
                                      " failed verification: " + Message(plain.status()));
      }
      std::string name = SafeFileName(a.name);
      for (int n = 2; !used_names.insert(name).second; ++n) {
        name = std::to_string(n) + "-" + SafeFileName(a.name);
      }
      const std::string path = (std::filesystem::path(args.out_dir) / name).string();
      if (Status st = WriteFile(path, *plain, args.overwrite); !st.ok()) {
        print_header();
        return out.LocalError(st);
      }
      // Read back what is on disk: the saved file is what the sender signed.
      StatusOr<std::string> saved = ReadTextFile(path);
      if (!saved.ok()) return out.LocalError(saved.status());
      const std::string saved_sha = crypto::Sha256Hex(*saved);
      if (saved_sha != sha) {
        print_header();
        return out.VerificationFailed(path + ": SHA-256 " + saved_sha +
                                      " differs from the signed " + sha);
      }
      doc["saved_to"] = path;
      doc["sha256_verified"] = true;
      line += " -> " + path + ", SHA-256 verified";
    }
    attachments.push_back(std::move(doc));
    header.emplace_back("attachment", line);
  }
  if (e.attachments_size() > 0 && args.out_dir.empty() && !out.json()) {
    header.emplace_back("", "(use --out-dir DIR to download, verify and save the attachments)");
  }

  // 4. Receipt and acknowledgement, only when asked.
  if (args.receipt) {
    if (Status st = (*client)->SendReceipt(e, msg::RECEIPT_KIND_READ); !st.ok()) {
      print_header();
      return RpcFailure(out, "SendReceipt", st);
    }
    header.emplace_back("receipt", "signed read receipt sent to " + sender);
  }
  bool acknowledged = entry->acknowledged();
  if (args.ack) {
    if (auto acked = (*client)->Ack({e.message_id()}); !acked.ok()) {
      print_header();
      return RpcFailure(out, "Ack", acked.status());
    }
    acknowledged = true;
  }
  header.emplace_back("acknowledged", acknowledged ? "yes" : "no");

  if (out.json()) {
    nlohmann::json doc = HeaderJson(e);
    doc["accepted_at"] = TimestampText(entry->accepted_at());
    doc["acknowledged"] = acknowledged;
    doc["signature"] = {{"verified", true}, {"sender", sender}, {"algorithm", "Ed25519"}};
    doc["sealed_for"] = sealed_for;
    doc["opened_as"] = myself;
    doc["attachments"] = attachments;
    doc["read_receipt_sent"] = args.receipt;
    doc["handling_text"] = content->handling_text;
    if (IsValidUtf8(*body)) {
      doc["body"] = *body;
    } else {
      doc["body_base64"] = crypto::Base64Encode(*body);
    }
    out.Json(doc);
    return kExitOk;
  }
  for (const auto& [k, v] : header) out.Line(k.empty() ? "  " + v : k + ": " + v);
  out.Line("");
  out.Line(*body);
  return kExitOk;
}

// ---- ack -----------------------------------------------------------------------------------

int RunMessageAck(const Globals& globals, const MessageAckArgs& args, Output& out) {
  if (args.ids.empty() || args.ids.size() > 500) {
    return out.LocalError(UsageError("ID", "give 1..500 message ids"));
  }
  for (const std::string& id : args.ids) {
    if (Status st = ValidateMessageId("ID", id); !st.ok()) return out.LocalError(st);
  }
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, {}, Need::kNo, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());
  StatusOr<uint32_t> acked = (*client)->Ack(args.ids);
  if (!acked.ok()) return RpcFailure(out, "Ack", acked.status());
  if (out.json()) {
    out.Json({{"requested", args.ids.size()}, {"newly_acknowledged", *acked}});
    return kExitOk;
  }
  out.Line("acknowledged " + std::to_string(args.ids.size()) +
           " message(s): " + std::to_string(*acked) + " newly, " +
           std::to_string(args.ids.size() - *acked) + " already acknowledged");
  return kExitOk;
}

// ---- receipts ------------------------------------------------------------------------------

int RunMessageReceipts(const Globals& globals, const MessageReceiptsArgs& args, Output& out) {
  if (Status st = ValidateMessageId("ID", args.id); !st.ok()) return out.LocalError(st);
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, {}, Need::kNo, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());
  // The envelope as sent: each receipt must name its exact SHA-256.
  StatusOr<msg::InboxEntry> entry = (*client)->Get(args.id);
  if (!entry.ok()) return RpcFailure(out, "Get", entry.status());
  StatusOr<std::string> sha = mc::EnvelopeSha256(entry->envelope());
  if (!sha.ok()) {
    return out.VerificationFailed("message " + args.id + " is malformed: " + Message(sha.status()));
  }
  const std::string envelope_sha = *sha;
  StatusOr<std::vector<msg::Receipt>> receipts = (*client)->ListReceipts(args.id);
  if (!receipts.ok()) return RpcFailure(out, "ListReceipts", receipts.status());

  std::set<std::string> recipients;
  for (const AgencyProto& r : entry->envelope().recipients()) recipients.insert(AgencyKeyOf(r));
  KeyCache directory(**client);
  int invalid = 0;
  std::set<std::string> answered;
  nlohmann::json list = nlohmann::json::array();
  std::vector<std::string> lines;
  for (const msg::Receipt& r : *receipts) {
    const std::string who = AgencyKeyOf(r.recipient());
    StatusOr<const mc::AgencyPublicKeys*> keys = directory.Get(r.recipient());
    if (!keys.ok()) return KeyLookupFailure(out, LookupRpc(r.recipient()), keys.status());
    std::string problem;
    if (!mc::VerifyReceipt(r, (*keys)->signing_key).ok()) {
      problem = "signature INVALID";
    } else if (r.envelope_sha256() != envelope_sha) {
      problem = "signature verified, but for another envelope (SHA-256 differs)";
    } else if (recipients.count(who) == 0) {
      problem = "signature verified, but " + who + " is not a recipient";
    }
    if (!problem.empty()) ++invalid;
    answered.insert(who);
    const std::string kind = ReceiptKindText(r.kind());
    lines.push_back(kind + " by " + who + " at " + TimestampText(r.at()) + ", " +
                    (problem.empty() ? "signature verified" : problem));
    list.push_back({{"recipient", who},
                    {"kind", kind},
                    {"at", TimestampText(r.at())},
                    {"verified", problem.empty()},
                    {"problem", problem}});
  }
  std::vector<std::string> pending;
  for (const std::string& r : recipients) {
    if (answered.count(r) == 0) pending.push_back(r);
  }
  if (out.json()) {
    out.Json({{"message_id", args.id},
              {"envelope_sha256", HexText(envelope_sha)},
              {"receipts", list},
              {"all_verified", invalid == 0},
              {"no_receipt_from", pending}});
  } else {
    out.Line("receipts for message " + args.id + " (" + std::to_string(receipts->size()) + "):");
    if (lines.empty()) out.Line("  (none yet)");
    for (const std::string& line : lines) out.Line("  " + line);
    if (!pending.empty()) out.Line("no receipt yet from: " + JoinComma(pending));
  }
  if (invalid > 0) {
    return out.VerificationFailed(std::to_string(invalid) + " receipt(s) of message " + args.id +
                                  " failed verification");
  }
  return kExitOk;
}

// ---- watch ---------------------------------------------------------------------------------

int RunMessageWatch(const Globals& globals, const MessageKeyArgs& keys,
                    const MessageWatchArgs& args, Output& out) {
  if (args.max < 0) return out.LocalError(UsageError("--max", "must be 0 (no limit) or more"));
  if (args.max_retries < 0) {
    return out.LocalError(UsageError("--max-retries", "must be 0 (no limit) or more"));
  }
  mc::WatchOptions options;
  options.terminal_id = args.terminal;
  options.resume.max_attempts = args.max_retries;
  if (!args.duration.empty()) {
    StatusOr<absl::Duration> d = ParseTimeToLive("--duration", args.duration);
    if (!d.ok()) return out.LocalError(d.status());
    options.max_duration = *d;
  }
  StatusOr<mc::SenderIdentity> me =
      LoadIdentity(globals, keys, args.receipt ? Need::kYes : Need::kNo, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());

  // The library's Watch: it resumes with backoff when the server closes the stream (maximum
  // connection age, restart) and stops on UNAUTHENTICATED/PERMISSION_DENIED. A signal (Ctrl-C,
  // SIGTERM) stops it through a WatchStop.
  StopSignals signals;
  mc::WatchStop stop;
  options.stop = &stop;
  std::atomic<bool> finished{false};
  std::thread canceller([&] {
    while (!finished.load()) {
      if (StopSignals::received()) {
        stop.Stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const auto stop_canceller = [&] {
    finished.store(true);
    if (canceller.joinable()) canceller.join();
  };
  int resumes = 0;
  options.on_resume = [&](const Status& ended, int attempt, absl::Duration delay) {
    ++resumes;
    // On stderr: stdout keeps one line (or one JSON object) per delivery.
    out.Notice(absl::StrCat("watch: the stream ended (", GrpcCodeName(ended.code()),
                            ended.message().empty() ? "" : ": ", Message(ended), "); resuming in ",
                            absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1))),
                            " (attempt ", attempt, ")"));
  };

  KeyCache directory(**client);
  std::set<std::string> seen;
  int count = 0;
  int invalid = 0;
  bool reached_max = false;
  int failure = kExitOk;
  const Status watched = (*client)->Watch(options, [&](const msg::Delivery& delivery) {
    const msg::Envelope& e = delivery.envelope();
    ++count;
    // At-least-once delivery: a message delivered before a resume may come again.
    const bool again = !seen.insert(e.message_id()).second;
    StatusOr<const mc::AgencyPublicKeys*> sender_keys = directory.Get(e.sender());
    if (!sender_keys.ok()) {
      failure = KeyLookupFailure(out, LookupRpc(e.sender()), sender_keys.status());
      return false;
    }
    const bool verified = mc::VerifyEnvelope(e, (*sender_keys)->signing_key).ok();
    if (!verified) ++invalid;
    bool acked = false;
    bool receipt = false;
    if (verified && args.receipt) {
      if (Status st = (*client)->SendReceipt(e, msg::RECEIPT_KIND_DELIVERED); !st.ok()) {
        failure = RpcFailure(out, "SendReceipt", st);
        return false;
      }
      receipt = true;
    }
    if (verified && args.ack) {
      if (auto a = (*client)->Ack({e.message_id()}); !a.ok()) {
        failure = RpcFailure(out, "Ack", a.status());
        return false;
      }
      acked = true;
    }
    if (out.json()) {
      nlohmann::json doc = HeaderJson(e);
      doc["accepted_at"] = TimestampText(delivery.accepted_at());
      doc["delivery_count"] = delivery.delivery_count();
      doc["signature_verified"] = verified;
      doc["acknowledged"] = acked;
      doc["delivered_receipt_sent"] = receipt;
      doc["again"] = again;
      out.JsonLine(doc);
    } else {
      std::string line = TimestampText(delivery.accepted_at()) + "  " + e.message_id() + "  from " +
                         AgencyKeyOf(e.sender()) + "  " + MessageKindText(e.kind()) + "  " +
                         HandlingCodeText(e.handling_code()) + "  attachments " +
                         std::to_string(e.attachments_size()) + "  " +
                         (verified ? "signature verified" : "signature INVALID");
      if (delivery.delivery_count() > 1) {
        line += "  (delivery #" + std::to_string(delivery.delivery_count()) + ")";
      }
      if (again) line += "  (again)";
      if (receipt) line += "  receipt sent";
      if (acked) line += "  acked";
      out.Line(line);
    }
    out.Flush();
    if (args.max > 0 && count >= args.max) {
      reached_max = true;
      return false;
    }
    return true;
  });
  const bool by_signal = stop.stopped();
  stop_canceller();
  if (failure != kExitOk) return failure;
  if (!watched.ok()) {
    const int rc = RpcFailure(out, "Subscribe", watched);
    const grpc::StatusCode code = ToGrpcStatus(watched).error_code();
    if (code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED) {
      out.Notice(
          "watch stopped: the server no longer admits this certificate or agency (revoked "
          "certificate, suspended agency, or not allowed); not resuming");
    } else if (mc::IsResumable(code)) {
      out.Notice(absl::StrCat("watch stopped: gave up after ", args.max_retries,
                              " failed resumes in a row (--max-retries)"));
    }
    return rc;
  }
  if (!out.json()) {
    const std::string why = reached_max                                       ? "--max reached"
                            : by_signal                                       ? "signal"
                            : options.max_duration < absl::InfiniteDuration() ? "--duration elapsed"
                                                                              : "stream ended";
    std::string line = "watch stopped (" + why + "): " + std::to_string(count) + " deliveries";
    if (resumes > 0) line += ", " + std::to_string(resumes) + " resumed stream(s)";
    out.Line(line);
  }
  if (invalid > 0) {
    return out.VerificationFailed(std::to_string(invalid) +
                                  " delivery(ies) with an INVALID signature (not acknowledged)");
  }
  return kExitOk;
}

// ---- forward -------------------------------------------------------------------------------

int RunMessageForward(const Globals& globals, const MessageKeyArgs& keys,
                      const MessageForwardArgs& args, Output& out) {
  if (Status st = ValidateMessageId("ID", args.id); !st.ok()) return out.LocalError(st);
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, keys, Need::kYes, Need::kYes);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<std::vector<AgencyProto>> recipients =
      ParseRecipients("--to", args.to, me->agency.trust_domain());
  if (!recipients.ok()) return out.LocalError(recipients.status());
  std::optional<msg::ForwardPermission> permission;
  if (!args.permission_file.empty()) {
    StatusOr<std::string> text = ReadTextFile(args.permission_file);
    if (!text.ok()) return out.LocalError(text.status());
    msg::ForwardPermission p;
    if (!google::protobuf::util::JsonStringToMessage(*text, &p).ok()) {
      return out.LocalError(FileError(args.permission_file,
                                      "not a ForwardPermission in JSON (made by `concordctl "
                                      "message grant`)"));
    }
    permission = std::move(p);
  }
  std::shared_ptr<grpc::Channel> channel;
  auto client = MakeClient(globals, *me, &channel);
  if (!client.ok()) return out.LocalError(client.status());

  // The original: verified and opened here (the server cannot re-seal).
  StatusOr<msg::InboxEntry> entry = (*client)->Get(args.id);
  if (!entry.ok()) return RpcFailure(out, "Get", entry.status());
  const msg::Envelope& original = entry->envelope();
  KeyCache directory(**client);
  StatusOr<const mc::AgencyPublicKeys*> sender_keys = directory.Get(original.sender());
  if (!sender_keys.ok()) {
    return KeyLookupFailure(out, LookupRpc(original.sender()), sender_keys.status());
  }
  if (!mc::VerifyEnvelope(original, (*sender_keys)->signing_key).ok()) {
    return out.VerificationFailed("signature INVALID: message " + args.id +
                                  " does not verify under the directory signing key of " +
                                  AgencyKeyOf(original.sender()) + "; not forwarded");
  }
  StatusOr<mc::OpenedContent> content = mc::OpenContent(original, me->agency, me->sealing_key);
  if (!content.ok()) {
    return out.VerificationFailed("cannot open message " + args.id + " as " +
                                  AgencyKeyOf(me->agency) + ": " + Message(content.status()));
  }
  if (permission.has_value()) {
    // Only the original provider's permission for the root message counts (checked again by the
    // server): say so here rather than after an upload.
    StatusOr<std::pair<std::string, AgencyProto>> root = mc::ForwardRootOf(original);
    if (!root.ok()) return out.LocalError(root.status());
    if (permission->original_message_id() != root->first ||
        AgencyKeyOf(permission->provider()) != AgencyKeyOf(root->second)) {
      return out.LocalError(FileError(
          args.permission_file, "is a permission by " + AgencyKeyOf(permission->provider()) +
                                    " for message " + permission->original_message_id() +
                                    "; forwarding " + args.id + " needs the original provider's (" +
                                    AgencyKeyOf(root->second) +
                                    ") permission for the root message " + root->first));
    }
    StatusOr<const mc::AgencyPublicKeys*> provider = directory.Get(permission->provider());
    if (!provider.ok()) {
      return KeyLookupFailure(out, LookupRpc(permission->provider()), provider.status());
    }
    if (!mc::VerifyForwardPermission(*permission, (*provider)->signing_key).ok()) {
      return out.VerificationFailed("permission signature INVALID: " + args.permission_file +
                                    " does not verify under the directory signing key of " +
                                    AgencyKeyOf(permission->provider()));
    }
  }
  std::vector<mc::Recipient> targets;
  for (const AgencyProto& r : *recipients) {
    StatusOr<const mc::AgencyPublicKeys*> k = directory.Get(r);
    if (!k.ok()) return KeyLookupFailure(out, LookupRpc(r), k.status());
    targets.push_back({r, (*k)->sealing_key});
  }
  // One clock reading for the draft and the envelope: the forward's expiry is the original's.
  const absl::Time now = absl::Now();
  StatusOr<mc::MessageDraft> draft = mc::ForwardDraft(original, *content, targets, permission, now);
  if (!draft.ok()) return out.LocalError(draft.status());
  // Attachments: downloaded, checked, opened and re-sealed for the new recipients; their names
  // and digests go into the forward's sealed content.
  if (!args.without_attachments) {
    for (const mc::OpenedAttachment& a : content->attachments) {
      StatusOr<std::vector<msg::AttachmentChunk>> chunks =
          (*client)->DownloadChunks(original.message_id(), a.attachment_id);
      if (!chunks.ok()) {
        return RpcFailure(out, "DownloadAttachment (" + a.name + ")", chunks.status());
      }
      StatusOr<std::string> plain = mc::OpenAttachment(original, *content, a.attachment_id, *chunks,
                                                       me->agency, me->sealing_key);
      if (!plain.ok()) {
        return out.VerificationFailed("attachment " + a.name +
                                      " failed verification: " + Message(plain.status()));
      }
      StatusOr<mc::SealedAttachment> sealed =
          mc::SealAttachment("", a.name, a.media_type, *plain, targets);
      if (!sealed.ok()) return out.LocalError(sealed.status());
      if (auto up = (*client)->Upload(*sealed); !up.ok()) {
        return RpcFailure(out, "UploadAttachment (" + a.name + ")", up.status());
      }
      draft->attachments.push_back(sealed->reference);
    }
  }
  StatusOr<msg::Envelope> forward = mc::BuildEnvelope(*me, *draft, now);
  if (!forward.ok()) return out.LocalError(forward.status());
  auto stub = msg::Messaging::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  msg::ForwardRequest request;
  *request.mutable_envelope() = *forward;
  msg::SendResponse sent;
  const grpc::Status status = stub->Forward(&context, request, &sent);
  if (!status.ok()) return out.RpcError("Forward", status);

  const std::vector<std::string> to = AgencyKeys(forward->recipients());
  if (out.json()) {
    out.Json({{"message_id", sent.message_id()},
              {"original_message_id", args.id},
              {"duplicate", sent.duplicate()},
              {"recipients", to},
              {"attachments", forward->attachments_size()},
              {"with_permission", permission.has_value()},
              {"envelope_sha256", HexText(sent.envelope_sha256())},
              {"accepted_at", TimestampText(sent.accepted_at())}});
    return kExitOk;
  }
  out.Line("forwarded message " + args.id + " as " + sent.message_id());
  out.KeyValues({{"message id", sent.message_id()},
                 {"duplicate", sent.duplicate() ? "yes" : "no"},
                 {"to", JoinComma(to)},
                 {"handling", HandlingLine(forward->handling_code(), content->handling_text)},
                 {"attachments", std::to_string(forward->attachments_size()) + " re-sealed"},
                 {"permission", permission.has_value() ? "the provider's, signed by " +
                                                             AgencyKeyOf(permission->provider())
                                                       : "none"},
                 {"accepted", TimestampText(sent.accepted_at())}});
  return kExitOk;
}

// ---- grant ---------------------------------------------------------------------------------

int RunMessageGrant(const Globals& globals, const MessageKeyArgs& keys,
                    const MessageGrantArgs& args, Output& out) {
  if (Status st = ValidateMessageId("ID", args.id); !st.ok()) return out.LocalError(st);
  StatusOr<mc::SenderIdentity> me = LoadIdentity(globals, keys, Need::kYes, Need::kNo);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<std::vector<AgencyProto>> grantees =
      ParseRecipients("--to", args.to, me->agency.trust_domain());
  if (!grantees.ok()) return out.LocalError(grantees.status());
  auto client = MakeClient(globals, *me, nullptr);
  if (!client.ok()) return out.LocalError(client.status());
  StatusOr<msg::InboxEntry> entry = (*client)->Get(args.id);
  if (!entry.ok()) return RpcFailure(out, "Get", entry.status());
  const msg::Envelope& original = entry->envelope();
  if (AgencyKeyOf(original.sender()) != AgencyKeyOf(me->agency)) {
    return out.LocalError(UsageError("ID", "only the provider (the sender, " +
                                               AgencyKeyOf(original.sender()) +
                                               ") can permit forwarding message " + args.id));
  }
  if (original.has_forward()) {
    // A forwarder received the information; it does not provide it (H2 rule, docs/security.md).
    StatusOr<std::pair<std::string, AgencyProto>> root = mc::ForwardRootOf(original);
    if (!root.ok()) return out.LocalError(root.status());
    return out.LocalError(UsageError(
        "ID", "message " + args.id + " is a forward: permission to pass it on comes from the " +
                  "original provider " + AgencyKeyOf(root->second) + " for message " +
                  root->first));
  }
  StatusOr<msg::ForwardPermission> permission =
      mc::GrantForwardPermission(*me, original, *grantees, absl::Now());
  if (!permission.ok()) return out.LocalError(permission.status());
  StatusOr<nlohmann::json> doc = ProtoToJson(*permission);
  if (!doc.ok()) return out.LocalError(doc.status());
  if (args.out_file.empty()) {
    out.Json(*doc);  // the permission itself is the output
    return kExitOk;
  }
  if (Status st = WriteFile(args.out_file, doc->dump(2) + "\n", /*overwrite=*/true); !st.ok()) {
    return out.LocalError(st);
  }
  std::vector<std::string> names;
  for (const AgencyProto& g : *grantees) names.push_back(AgencyKeyOf(g));
  if (out.json()) {
    out.Json({{"message_id", args.id}, {"grantees", names}, {"written_to", args.out_file}});
  } else {
    out.Line("permission to forward message " + args.id + " to " + JoinComma(names) +
             ", signed by " + AgencyKeyOf(me->agency) + ", written to " + args.out_file);
  }
  return kExitOk;
}

}  // namespace concord::ctl
