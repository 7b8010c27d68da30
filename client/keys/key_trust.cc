#include "client/keys/key_trust.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/identity/agency_id.h"

namespace concord::keys {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// File problems carry their own reason, so that callers tell them from a refused key.
Status FileStatus(const Status& s) {
  if (s.ok() || !ReasonOf(s).empty()) return s;
  if (s.code() != absl::StatusCode::kFailedPrecondition) return s;
  return WithReason(s, kKnownKeysFileReason);
}

}  // namespace

bool IsKeyChangeRefused(const Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         ReasonOf(status) == kKeyChangedReason;
}

StatusOr<RecordKeys> KeysOfRecord(const concord::common::v1::AgencyId& agency,
                                  const concord::directory::v1::Agency& record) {
  StatusOr<AgencyType> type = AgencyTypeFromProto(agency.type());
  if (!type.ok()) return type.status();
  AgencyId id{agency.trust_domain().empty() ? record.id().trust_domain() : agency.trust_domain(),
              *type, agency.id()};
  if (id.trust_domain.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the trust domain of ", id.Key(), " is not known"));
  }
  RecordKeys out;
  out.spiffe_id = id.ToSpiffe();
  out.key = id.Key();
  auto signing = crypto::Ed25519PublicKey::FromPem(record.signing_public_key_pem());
  if (!signing.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the directory holds no valid signing key for ", out.key));
  }
  auto sealing = crypto::X25519PublicKey::FromPem(record.sealing_public_key_pem());
  if (!sealing.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the directory holds no valid sealing key for ", out.key));
  }
  out.keys = AgencyKeys{signing->Raw(), sealing->Raw()};
  if (record.has_key_endorsement()) {
    const auto& e = record.key_endorsement();
    out.endorsement = crypto::KeyEndorsement{
        e.previous_signing_key(),
        absl::FromUnixSeconds(e.issued_at().seconds()) + absl::Nanoseconds(e.issued_at().nanos()),
        e.signature()};
  }
  return out;
}

Status KeyTrust::Check(const concord::common::v1::AgencyId& agency,
                       const concord::directory::v1::Agency& record, Counterpart counterpart) {
  StatusOr<RecordKeys> current = KeysOfRecord(agency, record);
  if (!current.ok()) return current.status();
  Status refused;
  Status written = file_.Update([&](KnownKeys& known) -> StatusOr<bool> {
    std::optional<KnownAgency> remembered;
    if (auto it = known.find(current->spiffe_id); it != known.end()) remembered = it->second;
    const KeyVerdict verdict =
        DecideKeys(current->spiffe_id, remembered, current->keys, current->endorsement);
    switch (verdict.decision) {
      case KeyDecision::kUnchanged:
        return false;
      case KeyDecision::kFirstUse:
      case KeyDecision::kEndorsedRotation:
        known[current->spiffe_id] =
            Remember(remembered, current->keys, verdict.decision, clock_.Now());
        return true;
      case KeyDecision::kRefused:
        break;
    }
    const AgencyKeys& was = remembered->keys;
    const std::string was_sign = crypto::KeyFingerprint(was.signing);
    const std::string was_seal = crypto::KeyFingerprint(was.sealing);
    const std::string now_sign = crypto::KeyFingerprint(current->keys.signing);
    const std::string now_seal = crypto::KeyFingerprint(current->keys.sealing);
    const auto changed = [](const std::string& was, const std::string& is) {
      return was == is ? std::string() : std::string("   (changed)");
    };
    const bool partner = counterpart == Counterpart::kPartner;
    const std::string& name = partner ? current->spiffe_id : current->key;
    const char* where = partner ? " in the partner's directory export" : " in the directory";
    const char* accept = partner ? "concordctl federation trust " : "concordctl directory trust ";
    refused = WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "the keys of ", name, where, " changed and ", verdict.reason,
            ": refused for sealing to it and for trusting its signatures.\n", "  remembered (",
            std::string(KeySourceName(remembered->source)), " since ", Rfc3339(remembered->since),
            ", ", file_.path(), ")\n", "    signing key  ", was_sign, "\n", "    sealing key  ",
            was_seal, "\n", partner ? "  partner export now\n" : "  directory now\n",
            "    signing key  ", now_sign, changed(was_sign, now_sign), "\n", "    sealing key  ",
            now_seal, changed(was_seal, now_seal), "\n", "Check the new fingerprints with ", name,
            " by another channel; to accept them: ", accept, name)),
        kKeyChangedReason,
        {{"agency", name},
         {"known_keys_file", file_.path()},
         {"remembered_signing_fingerprint", was_sign},
         {"remembered_sealing_fingerprint", was_seal},
         {"directory_signing_fingerprint", now_sign},
         {"directory_sealing_fingerprint", now_seal}});
    return false;
  });
  if (!written.ok()) return FileStatus(written);
  return refused;
}

StatusOr<std::optional<KnownAgency>> KeyTrust::Remembered(std::string_view agency_spiffe_id) const {
  StatusOr<KnownKeys> known = file_.Load();
  if (!known.ok()) return FileStatus(known.status());
  auto it = known->find(std::string(agency_spiffe_id));
  if (it == known->end()) return std::optional<KnownAgency>();
  return std::optional<KnownAgency>(it->second);
}

StatusOr<KnownAgency> KeyTrust::Accept(const concord::common::v1::AgencyId& agency,
                                       const concord::directory::v1::Agency& record) {
  StatusOr<RecordKeys> current = KeysOfRecord(agency, record);
  if (!current.ok()) return current.status();
  KnownAgency entry;
  Status written = file_.Update([&](KnownKeys& known) -> StatusOr<bool> {
    const absl::Time now = clock_.Now();
    auto it = known.find(current->spiffe_id);
    entry.keys = current->keys;
    entry.first_seen = it == known.end() ? now : it->second.first_seen;
    entry.since = now;
    entry.source = KeySource::kAccepted;
    known[current->spiffe_id] = entry;
    return true;
  });
  if (!written.ok()) return FileStatus(written);
  return entry;
}

}  // namespace concord::keys
