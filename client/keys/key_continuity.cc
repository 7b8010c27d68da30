#include "client/keys/key_continuity.h"

#include "common/crypto/ed25519.h"
#include "common/crypto/hash.h"
#include "common/crypto/x25519.h"

namespace concord::keys {

std::string_view KeySourceName(KeySource source) {
  switch (source) {
    case KeySource::kFirstUse:
      return "first_use";
    case KeySource::kEndorsed:
      return "endorsed";
    case KeySource::kAccepted:
      return "accepted";
  }
  return "first_use";
}

std::optional<KeySource> ParseKeySource(std::string_view name) {
  for (KeySource s : {KeySource::kFirstUse, KeySource::kEndorsed, KeySource::kAccepted}) {
    if (KeySourceName(s) == name) return s;
  }
  return std::nullopt;
}

KeyVerdict DecideKeys(std::string_view agency_spiffe_id,
                      const std::optional<KnownAgency>& remembered, const AgencyKeys& current,
                      const std::optional<crypto::KeyEndorsement>& endorsement) {
  if (!remembered.has_value()) return {KeyDecision::kFirstUse, ""};
  if (remembered->keys == current) return {KeyDecision::kUnchanged, ""};
  if (!endorsement.has_value()) {
    return {KeyDecision::kRefused,
            "the change is not endorsed by the agency's previous signing key"};
  }
  // Security: the endorsement must come from the key THIS party remembers, not from whatever
  // key the (possibly compromised) directory names as "previous".
  if (!crypto::ConstantTimeEquals(endorsement->previous_signing_key, remembered->keys.signing)) {
    return {KeyDecision::kRefused,
            "the change is endorsed by another key than the remembered signing key"};
  }
  auto signing = crypto::Ed25519PublicKey::FromRaw(current.signing);
  auto sealing = crypto::X25519PublicKey::FromRaw(current.sealing);
  if (!signing.ok() || !sealing.ok()) {
    return {KeyDecision::kRefused, "the directory's new keys are malformed"};
  }
  if (!crypto::VerifyKeyEndorsement(agency_spiffe_id, *endorsement, *signing, *sealing).ok()) {
    return {KeyDecision::kRefused,
            "the endorsement of the new keys does not verify with the remembered signing key"};
  }
  return {KeyDecision::kEndorsedRotation, ""};
}

KnownAgency Remember(const std::optional<KnownAgency>& remembered, const AgencyKeys& current,
                     KeyDecision decision, absl::Time now) {
  KnownAgency out;
  out.keys = current;
  out.first_seen = remembered.has_value() ? remembered->first_seen : now;
  out.since = now;
  out.source =
      decision == KeyDecision::kEndorsedRotation ? KeySource::kEndorsed : KeySource::kFirstUse;
  return out;
}

}  // namespace concord::keys
