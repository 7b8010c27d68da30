// File: client/keys/key_continuity.h
//
// Key continuity, the pure rule (docs/crypto.md "Key continuity"). An agency library remembers
// the keys it has seen for every counterpart; when the directory later gives other keys, it
// decides before sealing to them or trusting a signature made with them:
//
//   remembered  directory keys           endorsement in the record                decision
//   none        any                      -                                        kFirstUse:
//   remember K           K (both keys equal)      - kUnchanged K           K' != K valid, by the
//   remembered signing key     kEndorsedRotation:
//                                        (previous_signing_key == K.signing)      remember K'
//   K           K' != K                  absent, invalid, or by another key       kRefused
//
// A routine rotation is signed by the agency's previous signing key (`concordctl keys rotate`)
// and passes silently; any other change (an administrator's re-key, or someone who took over
// the directory swapping a centre's sealing key so that police seal a victim's data to them) is
// refused until a person accepts it (`concordctl directory trust AGENCY`). A counterpart that
// rotated twice while this party was away (A -> B -> C, the directory endorsing C by B) is
// refused too: its chain is not checked, only the last step.
//
// Pure: no clock, no I/O. Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/crypto/key_endorsement.h"

namespace concord::keys {

/// An agency's public keys, raw: Ed25519 signing (32 bytes) and X25519 sealing (32 bytes).
struct AgencyKeys {
  std::string signing;
  std::string sealing;
  bool operator==(const AgencyKeys& other) const {
    return signing == other.signing && sealing == other.sealing;
  }
};

/// How a remembered entry got its keys.
enum class KeySource {
  kFirstUse,  // "first_use": the first keys seen for that agency (trust on first use)
  kEndorsed,  // "endorsed": a rotation endorsed by the previously remembered signing key
  kAccepted,  // "accepted": accepted by a person (`concordctl directory trust`)
};
std::string_view KeySourceName(KeySource source);
/// The inverse of KeySourceName; nullopt for anything else.
std::optional<KeySource> ParseKeySource(std::string_view name);

/// One remembered agency.
struct KnownAgency {
  AgencyKeys keys;
  absl::Time first_seen;  // when this party first saw the agency
  absl::Time since;       // when these keys were remembered
  KeySource source = KeySource::kFirstUse;
};

enum class KeyDecision { kFirstUse, kUnchanged, kEndorsedRotation, kRefused };

struct KeyVerdict {
  KeyDecision decision = KeyDecision::kRefused;
  std::string reason;  // kRefused: why, for a person ("not endorsed", "endorsed by another key")
};

/// The rule of the file comment. `agency_spiffe_id` is spiffe://<td>/agency/<type>/<id> (the
/// endorsement signs it); `current` is what the directory gives now.
KeyVerdict DecideKeys(std::string_view agency_spiffe_id,
                      const std::optional<KnownAgency>& remembered, const AgencyKeys& current,
                      const std::optional<crypto::KeyEndorsement>& endorsement);

/// The entry to remember after `verdict` (kFirstUse, kEndorsedRotation); `remembered` keeps its
/// first_seen. Precondition: verdict is one of those two.
KnownAgency Remember(const std::optional<KnownAgency>& remembered, const AgencyKeys& current,
                     KeyDecision decision, absl::Time now);

}  // namespace concord::keys
