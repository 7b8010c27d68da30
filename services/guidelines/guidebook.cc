// File: services/guidelines/guidebook.cc
#include "services/guidelines/guidebook.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace concord::guidelines {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

std::string S(std::string_view v) { return std::string(v); }

Status GuidelineNotFound(std::string_view gid) {
  return WithReason(absl::NotFoundError(absl::StrCat("guideline ", S(gid), " not found")),
                    "GUIDELINE_NOT_FOUND");
}

Status VersionNotFound(std::string_view gid, int64_t n) {
  return WithReason(absl::NotFoundError(absl::StrCat(guideline::VersionName(gid, n), " not found")),
                    "VERSION_NOT_FOUND");
}

Status BadSignature(std::string_view what) {
  return WithReason(absl::PermissionDeniedError(absl::StrCat(
                        S(what), " does not verify under the caller's directory signing key")),
                    "BAD_SIGNATURE");
}

std::string Sha256Of(const guideline::Version& v) { return guideline::VersionSha256(v); }

// List order: newest effective date first, then guideline id, then newest version.
std::tuple<int64_t, std::string, int64_t> SortKey(const VersionMeta& m) {
  return {-absl::ToUnixNanos(m.effective_at), m.guideline_id, -m.version};
}

std::string PageToken(const VersionMeta& m) {
  return absl::StrCat(absl::ToUnixNanos(m.effective_at), "|", m.guideline_id, "|", m.version);
}

StatusOr<std::tuple<int64_t, std::string, int64_t>> ParsePageToken(std::string_view token) {
  const std::vector<std::string> parts = absl::StrSplit(S(token), '|');
  int64_t ns = 0, n = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &ns) || !absl::SimpleAtoi(parts[2], &n) ||
      !guideline::IsValidGuidelineId(parts[1])) {
    return InvalidArgumentWithFields("invalid page token",
                                     {{"page.page_token", "not a token this server issued"}});
  }
  return std::tuple<int64_t, std::string, int64_t>{-ns, parts[1], -n};
}

}  // namespace

Guidebook::Guidebook(GuidelineStore& store, GuidelineDirectory& directory,
                     const authz::RevocationView& revocations, const Clock& clock,
                     GuidebookOptions options)
    : store_(store),
      directory_(directory),
      revocations_(revocations),
      clock_(clock),
      options_(std::move(options)) {}

std::vector<std::string> Guidebook::SuspendedAmong(const std::vector<std::string>& keys) const {
  std::vector<std::string> out;
  for (const std::string& key : keys) {
    auto id = ParseAgencyKey(options_.trust_domain, key);
    if (id.ok() && revocations_.IsSuspended(*id)) out.push_back(key);
  }
  return out;
}

std::vector<quota::Charge> Guidebook::ChargesOf(const AgencyId& caller, quota::Quota q) const {
  if (options_.quotas == nullptr) return {};
  return {quota::Charge{q, caller, options_.quotas->Bucket(caller.type, q), 1}};
}

Status Guidebook::CheckPublisherRight(const AgencyId& caller) {
  StatusOr<bool> holds = directory_.HoldsPublisherRight(caller);
  if (holds.status().code() == absl::StatusCode::kNotFound) holds = false;
  if (!holds.ok()) return holds.status();
  if (!*holds) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "agency ", caller.Key(),
                          " does not hold the guideline publisher right (directory attribute ",
                          S(kPublisherAttribute), ")")),
                      "NO_PUBLISHER_RIGHT");
  }
  return absl::OkStatus();
}

StatusOr<PublishResult> Guidebook::Publish(const AgencyId& caller,
                                           const guideline::SignedVersion& sv) {
  const guideline::Version& v = sv.version;
  CONCORD_RETURN_IF_ERROR(guideline::ValidateVersion(v, options_.trust_domain));
  // Security: the right is checked before anything about the guideline is said to the caller.
  CONCORD_RETURN_IF_ERROR(CheckPublisherRight(caller));
  std::optional<GuidelineHead> head;
  StatusOr<GuidelineHead> stored_head = store_.Head(v.guideline_id);
  if (stored_head.ok()) {
    head = *std::move(stored_head);
  } else if (stored_head.status().code() != absl::StatusCode::kNotFound) {
    return stored_head.status();
  }
  // The same signed version again is a duplicate (an idempotent resend), even once it has
  // successors; the store answers the same for a resend racing with the first publication.
  const std::string sha = Sha256Of(v);
  if (head.has_value() && v.version >= 1 && v.version <= head->latest) {
    StatusOr<StoredVersion> existing = store_.Get(v.guideline_id, v.version);
    if (existing.ok() && existing->meta.sha256 == sha &&
        existing->signed_version.signature == sv.signature) {
      CONCORD_ASSIGN_OR_RETURN(std::vector<std::string> audience,
                               store_.Audience(v.guideline_id, v.version));
      return PublishResult{.sha256 = sha,
                           .published_at = existing->meta.published_at,
                           .duplicate = true,
                           .audience_size = static_cast<int>(audience.size()),
                           .effective = Effective(existing->meta, clock_.Now())};
    }
  }
  CONCORD_RETURN_IF_ERROR(CheckSuccession(v, caller, head));
  CONCORD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, directory_.SigningKey(caller));
  if (!key.Verify(guideline::VersionBytes(v), sv.signature)) {
    return BadSignature(v.Name());
  }

  // The audience, frozen now: every registered agency of a listed type, plus the named ones.
  std::set<std::string> audience;
  for (AgencyType type : v.audience.types) {
    CONCORD_ASSIGN_OR_RETURN(std::vector<AgencyId> agencies, directory_.AgenciesOfType(type));
    for (const AgencyId& a : agencies) audience.insert(a.Key());
  }
  for (size_t i = 0; i < v.audience.agencies.size(); ++i) {
    const AgencyId& a = v.audience.agencies[i];
    CONCORD_ASSIGN_OR_RETURN(bool registered, directory_.IsRegistered(a));
    if (!registered) {
      return WithReason(
          absl::FailedPreconditionError(
              absl::StrCat("version.audience.agencies[", i, "] (", a.Key(), ") is not registered")),
          "UNKNOWN_AGENCY", {{"field", absl::StrCat("version.audience.agencies[", i, "]")}});
    }
    audience.insert(a.Key());
  }

  PublishWrite write{.signed_version = sv,
                     .sha256 = sha,
                     .audience = std::vector<std::string>(audience.begin(), audience.end()),
                     .now = clock_.Now(),
                     .previous_suspended = {},
                     .charges = ChargesOf(caller, quota::Quota::kPublish)};
  if (v.version > 1) {
    CONCORD_ASSIGN_OR_RETURN(std::vector<std::string> previous,
                             store_.Audience(v.guideline_id, v.version - 1));
    write.previous_suspended = SuspendedAmong(previous);
  }
  CONCORD_ASSIGN_OR_RETURN(PublishOutcome outcome, store_.Publish(write));
  return PublishResult{.sha256 = sha,
                       .published_at = write.now,
                       .duplicate = outcome == PublishOutcome::kDuplicate,
                       .audience_size = static_cast<int>(write.audience.size()),
                       .effective = v.effective_at <= write.now};
}

StatusOr<WithdrawResult> Guidebook::Withdraw(const AgencyId& caller,
                                             const guideline::SignedWithdrawal& sw) {
  const guideline::Withdrawal& w = sw.withdrawal;
  CONCORD_RETURN_IF_ERROR(guideline::ValidateWithdrawal(w, options_.trust_domain));
  if (!(w.withdrawn_by == caller)) {
    return WithReason(
        InvalidArgumentWithFields("the withdrawing agency is the caller",
                                  {{"withdrawal.withdrawn_by", "must be the caller's agency"}}),
        "WITHDRAWER_MISMATCH");
  }
  CONCORD_RETURN_IF_ERROR(CheckPublisherRight(caller));
  StatusOr<GuidelineHead> head = store_.Head(w.guideline_id);
  if (head.status().code() == absl::StatusCode::kNotFound) return GuidelineNotFound(w.guideline_id);
  if (!head.ok()) return head.status();
  if (!(head->owner == caller)) {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat("only the publisher of guideline ", w.guideline_id, " (",
                                       head->owner.Key(), ") withdraws its versions")),
                      "NOT_GUIDELINE_PUBLISHER");
  }
  const absl::Time now = clock_.Now();
  if (absl::AbsDuration(now - w.withdrawn_at) > options_.replay_window) {
    return WithReason(InvalidArgumentWithFields(
                          "the withdrawal is dated too far from the server's clock",
                          {{"withdrawal.withdrawn_at", "within 5 minutes of the server's time"}}),
                      "OUTSIDE_REPLAY_WINDOW");
  }
  CONCORD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key, directory_.SigningKey(caller));
  if (!key.Verify(guideline::WithdrawalBytes(w), sw.signature)) {
    return BadSignature(
        absl::StrCat("the withdrawal of ", guideline::VersionName(w.guideline_id, w.version)));
  }
  CONCORD_ASSIGN_OR_RETURN(std::vector<std::string> audience,
                           store_.Audience(w.guideline_id, w.version));
  CONCORD_ASSIGN_OR_RETURN(
      bool duplicate,
      store_.Withdraw(WithdrawWrite{.signed_withdrawal = sw,
                                    .now = now,
                                    .suspended = SuspendedAmong(audience),
                                    .charges = ChargesOf(caller, quota::Quota::kPublish)}));
  return WithdrawResult{.recorded_at = now, .duplicate = duplicate};
}

StatusOr<std::pair<std::vector<VersionMeta>, VersionMeta>> Guidebook::Find(const AgencyId& caller,
                                                                           std::string_view gid,
                                                                           int64_t version) {
  CONCORD_RETURN_IF_ERROR(ValidateGuidelineId(gid, "guideline_id"));
  if (version < 0) {
    return InvalidArgumentWithFields("invalid version", {{"version", "0 (in force) or more"}});
  }
  CONCORD_ASSIGN_OR_RETURN(std::vector<VersionMeta> versions, store_.Versions(gid));
  const bool sees_any = std::any_of(versions.begin(), versions.end(),
                                    [&](const VersionMeta& m) { return Visible(m, caller); });
  // Security: an agency that can see no version of the guideline learns nothing about it.
  if (!sees_any) {
    return version == 0 ? GuidelineNotFound(gid) : VersionNotFound(gid, version);
  }
  int64_t n = version;
  if (n == 0) {
    std::optional<int64_t> in_force = InForce(versions, clock_.Now());
    if (!in_force.has_value()) {
      return WithReason(
          absl::NotFoundError(absl::StrCat("guideline ", S(gid), " has no version in force")),
          "NO_VERSION_IN_FORCE");
    }
    n = *in_force;
  }
  if (n > static_cast<int64_t>(versions.size()) ||
      !Visible(versions[static_cast<size_t>(n - 1)], caller)) {
    return VersionNotFound(gid, n);
  }
  VersionMeta meta = versions[static_cast<size_t>(n - 1)];
  return std::pair<std::vector<VersionMeta>, VersionMeta>{std::move(versions), std::move(meta)};
}

StatusOr<StoredVersion> Guidebook::LoadVerified(std::string_view gid, int64_t version) {
  CONCORD_ASSIGN_OR_RETURN(StoredVersion stored, store_.Get(gid, version));
  const guideline::Version& v = stored.signed_version.version;
  StatusOr<crypto::Ed25519PublicKey> key = directory_.SigningKey(v.publisher);
  if (!key.ok()) {
    if (key.status().code() == absl::StatusCode::kUnavailable) return key.status();
    return guideline::VerificationFailed(
        gid, version, absl::StrCat("no signing key of ", v.publisher.Key(), " in the directory"));
  }
  CONCORD_RETURN_IF_ERROR(
      guideline::VerifyVersion(stored.signed_version, stored.meta.sha256, *key));
  if (stored.withdrawal.has_value()) {
    const guideline::Withdrawal& w = stored.withdrawal->withdrawal;
    if (w.guideline_id != v.guideline_id || w.version != v.version ||
        w.version_sha256 != stored.meta.sha256) {
      return guideline::VerificationFailed(gid, version, "its withdrawal names another version");
    }
    StatusOr<crypto::Ed25519PublicKey> wkey = directory_.SigningKey(w.withdrawn_by);
    if (!wkey.ok()) {
      if (wkey.status().code() == absl::StatusCode::kUnavailable) return wkey.status();
      return guideline::VerificationFailed(gid, version, "no signing key of its withdrawer");
    }
    CONCORD_RETURN_IF_ERROR(guideline::VerifyWithdrawal(*stored.withdrawal, *wkey));
  }
  return stored;
}

StatusOr<ReadResult> Guidebook::Get(const AgencyId& caller, std::string_view gid, int64_t version,
                                    const std::vector<std::string>& preferred) {
  CONCORD_RETURN_IF_ERROR(ValidatePreferredLanguages(preferred, "preferred_languages"));
  CONCORD_ASSIGN_OR_RETURN(auto found, Find(caller, gid, version));
  auto& [versions, meta] = found;
  CONCORD_ASSIGN_OR_RETURN(StoredVersion stored, LoadVerified(gid, meta.version));
  const absl::Time now = clock_.Now();
  ReadResult out;
  out.view.effective = Effective(stored.meta, now);
  out.view.in_force = InForce(versions, now) == std::optional<int64_t>(meta.version);
  out.view.addressed = Addressed(stored.meta, caller);
  CONCORD_ASSIGN_OR_RETURN(std::vector<std::optional<AckRecord>> acks,
                           store_.AckedBy(caller.Key(), {{std::string(gid), meta.version}}));
  if (!acks.empty()) out.view.acknowledged = acks[0];
  std::vector<std::string> languages;
  for (const guideline::Content& c : stored.signed_version.version.contents) {
    languages.push_back(c.language);
  }
  out.language = ChooseLanguage(languages, preferred);
  out.stored = std::move(stored);
  return out;
}

StatusOr<ListPage> Guidebook::List(const AgencyId& caller, const ListQuery& q) {
  FieldErrors errors;
  if (!q.guideline_id.empty() && !guideline::IsValidGuidelineId(q.guideline_id)) {
    errors.Add("guideline_id", "must match [a-z0-9][a-z0-9-]{2,63}");
  }
  if (!q.topic.empty() && !guideline::IsValidTopic(q.topic)) {
    errors.Add("topic", "must match [a-z][a-z0-9-]{1,31}");
  }
  if (q.page_size < 0 || q.page_size > kMaxPageSize) errors.Add("page.page_size", "0..500");
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid list request"));
  std::optional<std::tuple<int64_t, std::string, int64_t>> after;
  if (!q.page_token.empty()) {
    CONCORD_ASSIGN_OR_RETURN(after, ParsePageToken(q.page_token));
  }
  CONCORD_ASSIGN_OR_RETURN(std::vector<VersionMeta> all, store_.AllVersions(options_.max_versions));
  const absl::Time now = clock_.Now();
  std::map<std::string, std::vector<VersionMeta>> by_guideline;
  for (const VersionMeta& m : all) by_guideline[m.guideline_id].push_back(m);
  std::map<std::string, std::optional<int64_t>> in_force;
  for (const auto& [gid, versions] : by_guideline) in_force[gid] = InForce(versions, now);

  std::vector<VersionMeta> selected;
  for (const VersionMeta& m : all) {
    if (!Visible(m, caller)) continue;
    if (!q.guideline_id.empty() && m.guideline_id != q.guideline_id) continue;
    if (!q.topic.empty() &&
        std::find(m.topics.begin(), m.topics.end(), q.topic) == m.topics.end()) {
      continue;
    }
    if (q.audience_type.has_value() && std::find(m.audience.types.begin(), m.audience.types.end(),
                                                 *q.audience_type) == m.audience.types.end()) {
      continue;
    }
    if (q.public_only && !m.audience.is_public) continue;
    if (q.effective_from.has_value() && m.effective_at < *q.effective_from) continue;
    if (q.effective_to.has_value() && m.effective_at >= *q.effective_to) continue;
    if (m.withdrawn && !q.include_withdrawn) continue;
    const std::optional<int64_t>& current = in_force[m.guideline_id];
    // Superseded: older than the version in force (a newer version that is not yet effective
    // does not supersede it for readers).
    const bool superseded = current.has_value() && m.version < *current;
    if (superseded && !q.include_superseded) continue;
    if (after.has_value() && !(SortKey(m) > *after)) continue;
    selected.push_back(m);
  }
  std::sort(selected.begin(), selected.end(),
            [](const VersionMeta& a, const VersionMeta& b) { return SortKey(a) < SortKey(b); });
  const size_t page = q.page_size == 0 ? kDefaultPageSize : static_cast<size_t>(q.page_size);
  ListPage out;
  if (selected.size() > page) {
    selected.resize(page);
    out.next_page_token = PageToken(selected.back());
  }
  std::vector<std::pair<std::string, int64_t>> ids;
  for (const VersionMeta& m : selected) ids.emplace_back(m.guideline_id, m.version);
  CONCORD_ASSIGN_OR_RETURN(std::vector<std::optional<AckRecord>> acks,
                           store_.AckedBy(caller.Key(), ids));
  for (size_t i = 0; i < selected.size(); ++i) {
    ListItem item;
    item.view.effective = Effective(selected[i], now);
    item.view.in_force =
        in_force[selected[i].guideline_id] == std::optional<int64_t>(selected[i].version);
    item.view.addressed = Addressed(selected[i], caller);
    if (i < acks.size()) item.view.acknowledged = acks[i];
    item.meta = std::move(selected[i]);
    out.items.push_back(std::move(item));
  }
  return out;
}

StatusOr<DiffResult> Guidebook::Diff(const AgencyId& caller, std::string_view gid,
                                     int64_t from_version, int64_t to_version,
                                     std::string_view language) {
  FieldErrors errors;
  if (from_version < 1) errors.Add("from_version", "1 or more");
  if (to_version < 1) errors.Add("to_version", "1 or more");
  if (language.size() != 2) errors.Add("language", "an ISO 639-1 code, e.g. fr");
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid diff request"));
  CONCORD_ASSIGN_OR_RETURN(auto from_found, Find(caller, gid, from_version));
  CONCORD_ASSIGN_OR_RETURN(auto to_found, Find(caller, gid, to_version));
  CONCORD_ASSIGN_OR_RETURN(StoredVersion from, LoadVerified(gid, from_version));
  CONCORD_ASSIGN_OR_RETURN(StoredVersion to, LoadVerified(gid, to_version));
  const guideline::Content* a = from.signed_version.version.ContentIn(language);
  const guideline::Content* b = to.signed_version.version.ContentIn(language);
  if (a == nullptr || b == nullptr) {
    const int64_t missing = a == nullptr ? from_version : to_version;
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          guideline::VersionName(gid, missing), " has no text in ", S(language))),
                      "LANGUAGE_NOT_IN_VERSION");
  }
  DiffResult out;
  out.from_title = a->title;
  out.to_title = b->title;
  out.ops = LineDiff(a->body, b->body);
  for (const DiffOp& op : out.ops) {
    if (op.kind == DiffOp::Kind::kDelete) ++out.deleted;
    if (op.kind == DiffOp::Kind::kInsert) ++out.inserted;
  }
  out.from = std::move(from.meta);
  out.to = std::move(to.meta);
  return out;
}

StatusOr<AckResult> Guidebook::Acknowledge(const AgencyId& caller, std::string_view gid,
                                           int64_t version, std::string_view sha256) {
  FieldErrors errors;
  if (version < 1) errors.Add("version", "1 or more");
  if (sha256.size() != 32) errors.Add("sha256", "the version's SHA-256, 32 bytes");
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid acknowledgement"));
  CONCORD_ASSIGN_OR_RETURN(auto found, Find(caller, gid, version));
  const VersionMeta& meta = found.second;
  if (!Addressed(meta, caller)) {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat(meta.Name(), " does not address agency ", caller.Key(),
                                       ": only its audience acknowledges it")),
                      "NOT_ADDRESSED");
  }
  CONCORD_ASSIGN_OR_RETURN(AckOutcome outcome,
                           store_.Acknowledge(gid, version, caller.Key(), sha256, clock_.Now(),
                                              ChargesOf(caller, quota::Quota::kAck)));
  CONCORD_ASSIGN_OR_RETURN(bool member, store_.InAudience(gid, version, caller.Key()));
  return AckResult{.record = outcome.record,
                   .duplicate = outcome.duplicate,
                   .late = outcome.record.at > meta.ack_deadline,
                   .counted = member && outcome.record.before_freeze};
}

StatusOr<ComplianceResult> Guidebook::Figures(const VersionMeta& meta, absl::Time now) {
  CONCORD_ASSIGN_OR_RETURN(StoredVersion stored, store_.Get(meta.guideline_id, meta.version));
  CONCORD_ASSIGN_OR_RETURN(std::vector<std::string> audience,
                           store_.Audience(meta.guideline_id, meta.version));
  CONCORD_ASSIGN_OR_RETURN(auto acks, store_.Acks(meta.guideline_id, meta.version));
  ComplianceResult out;
  out.meta = stored.meta;
  ComplianceInput input{.ack_deadline = stored.meta.ack_deadline,
                        .as_of = now,
                        .audience = audience,
                        .acks = std::move(acks),
                        .suspended = {}};
  if (stored.frozen_at.has_value()) {
    out.frozen = true;
    input.as_of = *stored.frozen_at;
    input.suspended.insert(stored.frozen_suspended.begin(), stored.frozen_suspended.end());
    out.frozen_reason =
        stored.meta.superseded_by != 0 && stored.meta.superseded_at == *stored.frozen_at
            ? "superseded"
            : "withdrawn";
  } else {
    for (const std::string& key : SuspendedAmong(audience)) input.suspended.insert(key);
  }
  out.as_of = input.as_of;
  out.report = ComputeCompliance(input);
  return out;
}

StatusOr<ComplianceResult> Guidebook::Compliance(const AgencyId& caller, std::string_view gid,
                                                 int64_t version) {
  CONCORD_ASSIGN_OR_RETURN(auto found, Find(caller, gid, version));
  CONCORD_ASSIGN_OR_RETURN(GuidelineHead head, store_.Head(gid));
  if (!(head.owner == caller)) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat("only the publisher of guideline ",
                                                               S(gid), " (", head.owner.Key(),
                                                               ") reads its compliance figures")),
                      "NOT_GUIDELINE_PUBLISHER");
  }
  return Figures(found.second, clock_.Now());
}

StatusOr<std::optional<ComplianceResult>> Guidebook::InForceFigures(std::string_view gid) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<VersionMeta> versions, store_.Versions(gid));
  const absl::Time now = clock_.Now();
  const std::optional<int64_t> n = InForce(versions, now);
  if (!n.has_value()) return std::optional<ComplianceResult>();
  CONCORD_ASSIGN_OR_RETURN(ComplianceResult r, Figures(versions[static_cast<size_t>(*n - 1)], now));
  return std::optional<ComplianceResult>(std::move(r));
}

}  // namespace concord::guidelines
