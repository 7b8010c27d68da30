// File: client/referrals/record_signature.cc
#include "client/referrals/record_signature.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"

namespace concord::referrals::client {
namespace {

namespace cv1 = ::concord::common::v1;

// Tags of the signed structure (record_signature.h, docs/crypto.md): never reorder or reuse.
constexpr uint8_t kTagDomain = 0;
constexpr uint8_t kTagCaseId = 1;
constexpr uint8_t kTagVersion = 2;
constexpr uint8_t kTagAuthor = 3;
constexpr uint8_t kTagNonce = 4;
constexpr uint8_t kTagCiphertext = 5;
constexpr uint8_t kTagKeyCount = 6;
constexpr uint8_t kTagKeyRecipient = 7;
constexpr uint8_t kTagKeyEphemeral = 8;
constexpr uint8_t kTagKeyNonce = 9;
constexpr uint8_t kTagKeyCiphertext = 10;

std::string_view Domain(SealedKind kind) {
  switch (kind) {
    case SealedKind::kRecord:
      return kSealedRecordSignatureDomain;
    case SealedKind::kNote:
      return kSealedNoteSignatureDomain;
    case SealedKind::kDocumentIdentity:
      return kDocumentIdentitySignatureDomain;
    case SealedKind::kGuardian:
      break;
  }
  return kGuardianSignatureDomain;
}

// spiffe://<trust_domain>/agency/<type>/<id>; INVALID_ARGUMENT for an incomplete agency.
StatusOr<std::string> AuthorSpiffe(const cv1::AgencyId& author) {
  StatusOr<AgencyType> type = AgencyTypeFromProto(author.type());
  if (!type.ok() || !ValidateAgencyLocalId(author.id()).ok() ||
      !ValidateTrustDomain(author.trust_domain()).ok()) {
    return InvalidArgumentWithFields(
        "invalid author",
        {{"author", "a complete agency id (trust domain, type, id) is required"}});
  }
  return AgencyId{author.trust_domain(), *type, author.id()}.ToSpiffe();
}

std::string AuthorText(const cv1::AgencyId& author) {
  StatusOr<std::string> spiffe = AuthorSpiffe(author);
  return spiffe.ok() ? *spiffe : std::string("an invalid agency");
}

}  // namespace

std::string_view SealedKindText(SealedKind kind) {
  switch (kind) {
    case SealedKind::kRecord:
      return "the sealed record";
    case SealedKind::kNote:
      return "the sealed note";
    case SealedKind::kDocumentIdentity:
      return "the sealed document identity";
    case SealedKind::kGuardian:
      break;
  }
  return "the sealed guardian";
}

StatusOr<std::string> CanonicalSealedBox(SealedKind kind, std::string_view case_id, int64_t version,
                                         const cv1::AgencyId& author, const v1::SealedRecord& box) {
  if (case_id.empty()) {
    return InvalidArgumentWithFields("invalid case id",
                                     {{"case_id", "required: a box is signed for its case"}});
  }
  if (version < 1) {
    return InvalidArgumentWithFields("invalid version",
                                     {{"version", "required: the version the box becomes (>= 1)"}});
  }
  CONCORD_ASSIGN_OR_RETURN(const std::string spiffe, AuthorSpiffe(author));
  crypto::CanonicalWriter w;
  w.AddString(kTagDomain, Domain(kind));
  w.AddString(kTagCaseId, case_id);
  w.AddInt(kTagVersion, version);
  w.AddString(kTagAuthor, spiffe);
  w.AddString(kTagNonce, box.nonce());
  w.AddString(kTagCiphertext, box.ciphertext());
  w.AddInt(kTagKeyCount, box.keys_size());
  for (const v1::WrappedKey& k : box.keys()) {
    w.AddString(kTagKeyRecipient, k.recipient());
    w.AddString(kTagKeyEphemeral, k.ephemeral_public());
    w.AddString(kTagKeyNonce, k.nonce());
    w.AddString(kTagKeyCiphertext, k.ciphertext());
  }
  return w.Release();
}

Status SignSealedBox(SealedKind kind, std::string_view case_id, int64_t version,
                     const cv1::AgencyId& author, const crypto::Ed25519PrivateKey& key,
                     v1::SealedRecord& box) {
  CONCORD_ASSIGN_OR_RETURN(const std::string bytes,
                           CanonicalSealedBox(kind, case_id, version, author, box));
  CONCORD_ASSIGN_OR_RETURN(std::string signature, key.Sign(bytes));
  box.set_version(version);
  *box.mutable_author() = author;
  box.set_signature(std::move(signature));
  return absl::OkStatus();
}

Status VerifySealedBox(SealedKind kind, std::string_view case_id, const v1::SealedRecord& box,
                       const crypto::Ed25519PublicKey& author_key) {
  const std::string what = absl::StrCat(std::string(SealedKindText(kind)), " of case ",
                                        std::string(case_id), " version ", box.version());
  if (box.signature().empty()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            what,
            " is unsigned (stored before signatures existed, or its signature removed): "
            "neither its author nor its integrity can be proven")),
        kReasonUnsigned);
  }
  StatusOr<std::string> bytes = CanonicalSealedBox(kind, case_id, box.version(), box.author(), box);
  if (!bytes.ok() || !author_key.Verify(*bytes, box.signature())) {
    return WithReason(
        absl::DataLossError(absl::StrCat(
            what, " does not verify under the directory signing key of its author ",
            AuthorText(box.author()),
            ": replaced, put back under another version, moved from another case, or signed by "
            "another agency")),
        kReasonBadSignature);
  }
  return absl::OkStatus();
}

}  // namespace concord::referrals::client
