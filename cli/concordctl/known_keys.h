// File: cli/concordctl/known_keys.h
//
// concordctl's key continuity (client/keys): the known-keys file of the local agency, how a
// refused key change is reported, and the key rotation file (`keys rotate` writes it, `directory
// update --key-endorsement` reads it). Every command that seals to another agency or trusts its
// signature looks its keys up through KeyTrust::Check (the messaging library's TrustKeys hook,
// the referral commands' recipient lookups); `directory trust` accepts a change explicitly.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "cli/concordctl/commands.h"
#include "client/keys/key_trust.h"
#include "client/messaging/messaging_client.h"

namespace concord::ctl {

/// --known-keys, else DIR/known_keys.json of --agency-dir, else known_keys.json next to --cert.
/// INVALID_ARGUMENT when none of them is given.
StatusOr<std::string> KnownKeysPath(const ConnectionOptions& connection);

/// The local agency's KeyTrust over KnownKeysPath (shared: hooks hold it).
StatusOr<std::shared_ptr<keys::KeyTrust>> OpenKeyTrust(const ConnectionOptions& connection);

/// The messaging library's hook over `trust`.
messaging::client::TrustKeys TrustHook(std::shared_ptr<keys::KeyTrust> trust);

/// Prints a failed key lookup of `agency_key` and returns the exit code: a refused key change
/// (AGENCY_KEY_CHANGED) is a verification failure (3, with the fingerprints and the command
/// that accepts it); a known-keys file problem a local error (4); anything else a failed RPC
/// named `rpc` (2).
int KeyLookupFailure(Output& out, std::string_view rpc, const Status& status);

/// `directory trust` and `federation trust`: shows the remembered keys of `agency` and those of
/// `record` (the directory's answer, or a partner export's agency as a record) with the verdict
/// of the continuity rule and, unless they are unchanged, records them as accepted once
/// confirmed (`yes`, else a question on the terminal; exit 1 off a terminal, 3 when declined).
/// A partner agency (`counterpart` kPartner) is named by its SPIFFE id.
int ReviewAndAcceptKeys(const Globals& globals, bool yes,
                        const concord::common::v1::AgencyId& agency,
                        const concord::directory::v1::Agency& record, keys::Counterpart counterpart,
                        Output& out);

/// A partner agency of a verified partner export (Federation/GetPartnerAgency) as the directory
/// record that KeyTrust checks: its SPIFFE id and its two public keys, no endorsement (the export
/// carries none, so any change of a partner agency's keys is refused until accepted).
concord::directory::v1::Agency PartnerRecord(const concord::common::v1::AgencyId& agency,
                                             const std::string& signing_public_key_pem,
                                             const std::string& sealing_public_key_pem);

/// The key rotation file (docs/concordctl.md "keys rotate"):
///   {"format": "concord.key_endorsement.v1", "agency": "spiffe://<td>/agency/<type>/<id>",
///    "signing_public_key_pem": "...", "sealing_public_key_pem": "...",
///    "key_endorsement": {proto3 JSON of concord.directory.v1.KeyEndorsement}}
struct KeyRotationFile {
  std::string agency;  // SPIFFE id
  std::string signing_public_key_pem;
  std::string sealing_public_key_pem;
  concord::directory::v1::KeyEndorsement endorsement;
};
inline constexpr std::string_view kKeyRotationFormat = "concord.key_endorsement.v1";
StatusOr<std::string> FormatKeyRotationFile(const KeyRotationFile& file);
/// FAILED_PRECONDITION naming the file when it cannot be read or is malformed.
StatusOr<KeyRotationFile> ReadKeyRotationFile(const std::string& path);
/// OK iff the file's endorsement verifies for its agency and new keys (PERMISSION_DENIED
/// otherwise, INVALID_ARGUMENT for malformed keys).
Status VerifyKeyRotationFile(const KeyRotationFile& file);

}  // namespace concord::ctl
