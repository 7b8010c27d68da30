// File: client/keys/key_trust.h
//
// Key continuity for an agency library: every directory record whose keys the library is about
// to use - to seal to that agency, or to trust a signature as that agency's - goes through
// KeyTrust::Check, which applies the rule of key_continuity.h against the known-keys file
// (known_keys_file.h) and remembers what the rule accepts.
//
//   keys::KeyTrust trust(agency_dir + "/known_keys.json", SystemClock::Get());
//   messaging::client::ClientOptions options;
//   options.trust_keys = [&trust](const auto& agency, const auto& record) {
//     return trust.Check(agency, record);
//   };
//
// A refusal is FAILED_PRECONDITION with ErrorInfo reason AGENCY_KEY_CHANGED; its message names
// the agency, the remembered and the directory's fingerprints (crypto::KeyFingerprint) and the
// command that accepts the change after checking it with the agency out of band (`concordctl
// directory trust <type>/<id>`); the ErrorInfo metadata carries the same for programs.
//
// A partner deployment's agency (federation: its keys come from the partner's signed directory
// export through the gateway, `Federation/GetPartnerAgency`) goes through the same rule, checked
// with Counterpart::kPartner: it is remembered under its full SPIFFE id (another trust domain, so
// it never collides with a local agency of the same type and id), and a refusal names it by that
// id and the command `concordctl federation trust <SPIFFE id>`.
//
// Thread safety: thread-safe (the file is locked for each read-modify-write).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "client/keys/key_continuity.h"
#include "client/keys/known_keys_file.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "concord/common/v1/common.pb.h"
#include "concord/directory/v1/directory.pb.h"

namespace concord::keys {

/// ErrorInfo reasons of KeyTrust's errors.
inline constexpr std::string_view kKeyChangedReason = "AGENCY_KEY_CHANGED";
inline constexpr std::string_view kKnownKeysFileReason = "KNOWN_KEYS_FILE";

/// True for Check's refusal of a changed key (reason AGENCY_KEY_CHANGED).
bool IsKeyChangeRefused(const Status& status);

/// Where the keys of a counterpart come from (how a refusal names it and what accepts a change).
enum class Counterpart {
  kLocal,    // this deployment's directory: "<type>/<id>", `concordctl directory trust`
  kPartner,  // a partner deployment's export: the SPIFFE id, `concordctl federation trust`
};

/// What a directory record says about an agency's keys.
struct RecordKeys {
  std::string spiffe_id;  // spiffe://<td>/agency/<type>/<id>
  std::string key;        // "<type>/<id>"
  AgencyKeys keys;
  std::optional<crypto::KeyEndorsement> endorsement;
};

/// Parses the record's keys and endorsement for `agency` (whose trust domain, or else the
/// record's, must be set). INVALID_ARGUMENT when the record holds no valid key of either kind or
/// the agency is malformed.
StatusOr<RecordKeys> KeysOfRecord(const concord::common::v1::AgencyId& agency,
                                  const concord::directory::v1::Agency& record);

class KeyTrust {
 public:
  KeyTrust(std::string known_keys_path, const Clock& clock)
      : file_(std::move(known_keys_path)), clock_(clock) {}

  /// OK when the record's keys may be used (first use: remembered; unchanged; a rotation
  /// endorsed by the remembered signing key: remembered). Errors: FAILED_PRECONDITION reason
  /// AGENCY_KEY_CHANGED (refused, see the file comment); FAILED_PRECONDITION reason
  /// KNOWN_KEYS_FILE (the file cannot be read, locked or written: nothing is trusted);
  /// INVALID_ARGUMENT (the record's keys are malformed). `counterpart`: see the file comment.
  Status Check(const concord::common::v1::AgencyId& agency,
               const concord::directory::v1::Agency& record,
               Counterpart counterpart = Counterpart::kLocal);

  /// What is remembered for the agency (nullopt: never seen). Errors as Check's file errors.
  StatusOr<std::optional<KnownAgency>> Remembered(std::string_view agency_spiffe_id) const;

  /// A person accepted `record`'s keys (`concordctl directory trust`): remembered as "accepted",
  /// whatever was remembered before. Returns the entry written.
  StatusOr<KnownAgency> Accept(const concord::common::v1::AgencyId& agency,
                               const concord::directory::v1::Agency& record);

  const std::string& path() const { return file_.path(); }

 private:
  KnownKeysFile file_;
  const Clock& clock_;
};

}  // namespace concord::keys
