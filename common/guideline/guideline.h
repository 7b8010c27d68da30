// File: common/guideline/guideline.h
//
// A guideline version and a withdrawal: the ONE owner of their model, their rules of form and
// their canonical encoding (the bytes a publisher signs and whose SHA-256 names a version).
// Linked by the service (services/guidelines) and the agency side (client/guidelines,
// concordctl), as common/envelope is for messages. The byte layout is the "guideline-spec"
// block of docs/crypto.md, docs/guidelines.md and proto/concord/guidelines/v1/guidelines.proto;
// golden bytes pin it in tests/common/guideline.
//
//   Version v = ...;                                   // filled by the publisher's tool
//   CONCORD_RETURN_IF_ERROR(ValidateVersion(v, "concord.be", "version"));
//   CONCORD_ASSIGN_OR_RETURN(SignedVersion s, SignVersion(std::move(v), signing_key));
//   ...
//   CONCORD_RETURN_IF_ERROR(VerifyVersion(s, VersionSha256(s.version), publisher_key));
//
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::guideline {

/// Domain strings (field 0 of each encoding).
inline constexpr std::string_view kVersionDomain = "concord.guidelines.version.v1";
inline constexpr std::string_view kWithdrawalDomain = "concord.guidelines.withdrawal.v1";

/// Limits of form (proto comments and docs/guidelines.md say the same).
inline constexpr size_t kMaxGuidelineIdLength = 64;
inline constexpr size_t kMaxTopics = 16;
inline constexpr size_t kMaxLegalReferences = 32;
inline constexpr size_t kMaxLegalReferenceChars = 200;
inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxBodyBytes = 256 * 1024;
inline constexpr size_t kMaxContents = 6;
inline constexpr size_t kMaxVersionBytes = 1024 * 1024;
inline constexpr size_t kMaxNamedAgencies = 256;
inline constexpr size_t kMaxReasonChars = 500;
inline constexpr absl::Duration kMaxAckPeriod = absl::Hours(24 * 366);

/// The languages a version may carry: nl, fr, de, en always; es and pt only for outreach
/// material (a public audience or the topic "outreach").
inline constexpr std::string_view kOutreachTopic = "outreach";
bool IsOfficialLanguage(std::string_view code);  // nl, fr, de, en
bool IsOutreachLanguage(std::string_view code);  // es, pt

/// One language of a version.
struct Content {
  std::string language;
  std::string title;
  std::string body;
  friend bool operator==(const Content&, const Content&) = default;
};

struct Audience {
  bool is_public = false;
  std::vector<AgencyType> types;
  std::vector<AgencyId> agencies;
  friend bool operator==(const Audience&, const Audience&) = default;
};

/// The signed part of a version.
struct Version {
  std::string guideline_id;
  int64_t version = 0;
  AgencyId publisher;
  int64_t supersedes = 0;
  absl::Time effective_at = absl::UnixEpoch();
  absl::Time ack_deadline = absl::UnixEpoch();
  std::vector<std::string> topics;
  std::vector<std::string> legal_references;
  Audience audience;
  std::vector<Content> contents;
  friend bool operator==(const Version&, const Version&) = default;

  /// "guideline <id> version <n>": how every message names a version.
  std::string Name() const;
  /// True when the audience names `agency`'s type or `agency` itself (public alone addresses
  /// nobody).
  bool Addresses(const AgencyId& agency) const;
  /// The content in `language`, or nullptr.
  const Content* ContentIn(std::string_view language) const;
};

struct SignedVersion {
  Version version;
  std::string signature;  // 64 bytes
  friend bool operator==(const SignedVersion&, const SignedVersion&) = default;
};

struct Withdrawal {
  std::string guideline_id;
  int64_t version = 0;
  std::string version_sha256;  // raw, 32 bytes
  AgencyId withdrawn_by;
  absl::Time withdrawn_at = absl::UnixEpoch();
  std::string reason;
  friend bool operator==(const Withdrawal&, const Withdrawal&) = default;
};

struct SignedWithdrawal {
  Withdrawal withdrawal;
  std::string signature;  // 64 bytes
  friend bool operator==(const SignedWithdrawal&, const SignedWithdrawal&) = default;
};

/// "guideline <id> version <n>".
std::string VersionName(std::string_view guideline_id, int64_t version);

/// A guideline id: [a-z0-9][a-z0-9-]{2,63}.
bool IsValidGuidelineId(std::string_view id);
/// A topic tag: [a-z][a-z0-9-]{1,31}.
bool IsValidTopic(std::string_view topic);

/// The rules of form of a version (docs/guidelines.md "A version"). INVALID_ARGUMENT with one
/// field violation per problem, paths under `field` ("version.contents[1].language", ...), and
/// ErrorInfo reason INVALID_VERSION. Agencies must belong to `trust_domain`. Does not check the
/// signature, the publisher's right or the guideline's history (the service does).
Status ValidateVersion(const Version& version, std::string_view trust_domain,
                       std::string_view field = "version");

/// The rules of form of a withdrawal (ids, 32-byte hash, 1..500 printable reason characters),
/// paths under `field`. Does not check the time window or the signature.
Status ValidateWithdrawal(const Withdrawal& withdrawal, std::string_view trust_domain,
                          std::string_view field = "withdrawal");

/// The canonical bytes of section 2 of the spec: what the publisher signs. Lists are sorted here
/// (topics, audience types and agencies, contents by language), so the order of the fields of a
/// Version does not matter. Deterministic.
std::string VersionBytes(const Version& version);
/// SHA-256 of VersionBytes, raw 32 bytes.
std::string VersionSha256(const Version& version);
/// The exact inverse of VersionBytes for bytes that VersionBytes wrote (lists come back sorted):
/// DATA_LOSS on anything malformed, truncated, unsorted or followed by extra bytes.
StatusOr<Version> ParseVersionBytes(std::string_view bytes);

/// The canonical bytes of section 3: what the withdrawing agency signs.
std::string WithdrawalBytes(const Withdrawal& withdrawal);
StatusOr<Withdrawal> ParseWithdrawalBytes(std::string_view bytes);

/// Signs with the publisher's key.
StatusOr<SignedVersion> SignVersion(Version version, const crypto::Ed25519PrivateKey& key);
StatusOr<SignedWithdrawal> SignWithdrawal(Withdrawal withdrawal,
                                          const crypto::Ed25519PrivateKey& key);

/// Section 4 of the spec: OK iff SHA-256(VersionBytes) equals `claimed_sha256` and the signature
/// verifies under `publisher_key`. Otherwise DATA_LOSS "guideline <id> version <n> failed
/// verification: <what>" with ErrorInfo VERSION_VERIFICATION_FAILED {guideline_id, version}.
Status VerifyVersion(const SignedVersion& signed_version, std::string_view claimed_sha256,
                     const crypto::Ed25519PublicKey& publisher_key);
/// OK iff the withdrawal's signature verifies under `key`; DATA_LOSS as VerifyVersion otherwise.
Status VerifyWithdrawal(const SignedWithdrawal& signed_withdrawal,
                        const crypto::Ed25519PublicKey& key);

/// DATA_LOSS with ErrorInfo VERSION_VERIFICATION_FAILED naming the version (for callers that
/// detect a problem before VerifyVersion, e.g. bytes that do not parse).
Status VerificationFailed(std::string_view guideline_id, int64_t version, std::string_view what);

}  // namespace concord::guideline
