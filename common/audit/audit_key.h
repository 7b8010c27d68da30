// File: common/audit/audit_key.h
//
// The deployment's audit key: 32 bytes for AES-256-GCM, sealing audit records at rest. Every
// service that writes audit records, and the audit service that reads them, share it.
//
// Key file: either exactly 32 raw bytes, or 64 hex characters (optionally followed by a newline
// or other trailing whitespace). Generate one with `openssl rand -hex 32 > audit.key` and make
// it readable by the service user only.
#pragma once

#include <string>
#include <string_view>

#include "common/crypto/aead.h"
#include "common/status/status.h"

namespace concord::audit {

inline constexpr size_t kAuditKeySize = 32;

/// 32 secret bytes; wiped from memory when destroyed. Copyable (services and the sink each keep
/// one), never printed. Carries the key scheduled once for AES-256-GCM (aead(): every record is
/// sealed and opened through it, reusing its cipher contexts; copies share them).
class AuditKey {
 public:
  /// INVALID_ARGUMENT unless `raw` is exactly 32 bytes.
  static StatusOr<AuditKey> FromBytes(std::string_view raw);

  AuditKey(const AuditKey&) = default;
  AuditKey& operator=(const AuditKey&) = default;
  ~AuditKey();

  std::string_view bytes() const { return bytes_; }
  /// The same key for crypto::AeadKey's Seal/Open (output identical to AeadSeal/AeadOpen with
  /// bytes()). Thread-safe.
  const crypto::AeadKey& aead() const { return aead_; }

 private:
  AuditKey(std::string raw, crypto::AeadKey aead)
      : bytes_(std::move(raw)), aead_(std::move(aead)) {}
  std::string bytes_;
  crypto::AeadKey aead_;
};

/// Reads a key file (see the file comment). NOT_FOUND / PERMISSION_DENIED when the file cannot be
/// opened, INVALID_ARGUMENT when its contents are neither 32 raw bytes nor 64 hex characters.
/// Messages name the path and the problem, never the key material.
StatusOr<AuditKey> LoadAuditKey(const std::string& path);

}  // namespace concord::audit
