// File: cli/concordctl/commands.h
//
// concordctl's commands, one function each, independent of the flag parser (main.cc wires them
// to CLI11). Every function prints through Output and returns a documented exit code
// (exit_codes.h); none throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/concordctl/connection.h"
#include "cli/concordctl/output.h"

namespace concord::ctl {

struct Globals {
  ConnectionOptions connection;
  bool json = false;
};

// ---- health / whoami -----------------------------------------------------------------------

struct HealthArgs {
  std::string service;  // "" = the whole server
};
/// grpc.health.v1.Health/Check. 0 if SERVING, 3 if answered but not SERVING, 2 if the RPC failed.
int RunHealth(const Globals& globals, const HealthArgs& args, Output& out);

/// Prints the identity of the local client certificate (no RPC). 4 if it has no valid agency
/// SPIFFE ID or cannot be read.
int RunWhoami(const Globals& globals, Output& out);

// ---- directory -----------------------------------------------------------------------------

/// Flags of `directory register` and `directory update`.
struct AgencySpecArgs {
  std::string agency;    // positional "<type>/<id>" or SPIFFE ID (alternative to --type/--id)
  std::string type;      // --type
  std::string id;        // --id
  std::string from_pki;  // --from-pki DIR: type/id/serial from DIR/cert.pem, keys from sign.pub,
                         // seal.pub
  std::string name;
  std::string jurisdiction;
  std::vector<std::string> specialisations;
  std::vector<std::string> languages;
  std::string signing_key_file;
  std::string sealing_key_file;
  std::vector<std::string> serials;
  // update only
  bool clear_specialisations = false;
  bool clear_languages = false;
  bool clear_serials = false;
  int64_t expected_version = -1;  // -1 = the version just read
};
int RunDirectoryRegister(const Globals& globals, const AgencySpecArgs& args, Output& out);
/// Read-modify-write: gets the agency, applies the given flags, sends UpdateAgency with the
/// version read as expected_version (ABORTED if it changed meanwhile).
int RunDirectoryUpdate(const Globals& globals, const AgencySpecArgs& args, Output& out);

struct AgencyRefArgs {
  std::string agency;  // "<type>/<id>" or SPIFFE ID
  std::string reason;  // suspend only
};
int RunDirectorySuspend(const Globals& globals, const AgencyRefArgs& args, Output& out);
int RunDirectoryReinstate(const Globals& globals, const AgencyRefArgs& args, Output& out);
int RunDirectoryGet(const Globals& globals, const AgencyRefArgs& args, Output& out);

struct RevokeArgs {
  std::string serial;
  std::string cert_file;  // --cert-file: take the serial from a certificate
  std::string reason;
};
int RunDirectoryRevoke(const Globals& globals, const RevokeArgs& args, Output& out);

struct ListArgs {
  std::string type;
  std::string jurisdiction;
  std::string specialisation;
  std::string language;
  bool include_suspended = false;
  int page_size = 0;       // 0 = server default
  std::string page_token;  // given: that one page only; otherwise every page
};
int RunDirectoryList(const Globals& globals, const ListArgs& args, Output& out);
int RunDirectoryRevocations(const Globals& globals, Output& out);

// ---- audit ---------------------------------------------------------------------------------

struct AuditQueryArgs {
  std::string object;  // e.g. "agency:police/pz-brussels-capital"
  std::string agency;  // "<type>/<id>" or SPIFFE ID: records made by this agency
  std::string from;    // RFC 3339, e.g. 2026-11-28T00:00:00Z
  std::string to;
  int page_size = 0;       // 0 = server default
  std::string page_token;  // given: that one page only; otherwise pages up to `limit` records
  int limit = 1000;
};
int RunAuditQuery(const Globals& globals, const AuditQueryArgs& args, Output& out);

struct AuditVerifyArgs {
  uint64_t from_seq = 0;        // 0 = from the first record
  uint64_t to_seq = 0;          // 0 = up to the head
  std::string expect_key_file;  // --expect-key: the audit service's Ed25519 public key (PEM);
                                // the checkpoints must be signed with it
};
/// Prints "audit chain OK: N records, M checkpoints" (0) or
/// "audit chain BROKEN at record <seq>: <reason>" (3).
int RunAuditVerify(const Globals& globals, const AuditVerifyArgs& args, Output& out);

struct AuditCheckpointArgs {
  bool create = false;  // sign the current head now (admin) instead of showing the latest
};
int RunAuditCheckpoint(const Globals& globals, const AuditCheckpointArgs& args, Output& out);

}  // namespace concord::ctl
