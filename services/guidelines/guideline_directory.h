// File: services/guidelines/guideline_directory.h
//
// What the guidelines service reads from the directory, behind one small interface (fakes in
// unit tests; RedisGuidelineDirectory in production, reading the records the directory service
// writes through common/clients/directory_reader.h):
//   * the publisher right: the typed directory attribute "guideline_publisher"
//     (common/attributes; docs/guidelines.md "Who publishes"), read through
//     attributes::AgencyAttributes: an explicit value in the record wins; without one the
//     coordination unit holds it and nobody else does. Only the coordination unit and
//     magistrates (a magistrates' college) can be given it;
//   * agencies' Ed25519 signing keys (the publisher's signature, withdrawals);
//   * the registered agencies of a type and whether an agency is registered (the audience
//     frozen at publication).
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/attributes/agency_attributes.h"
#include "common/crypto/ed25519.h"
#include "common/identity/agency_id.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"

namespace concord::guidelines {

/// The directory attribute that carries the publisher right (common/attributes).
inline constexpr std::string_view kPublisherAttribute = attributes::kGuidelinePublisher;

class GuidelineDirectory {
 public:
  virtual ~GuidelineDirectory() = default;
  /// NOT_FOUND when the agency is not registered.
  virtual StatusOr<bool> HoldsPublisherRight(const AgencyId& agency) = 0;
  /// NOT_FOUND when the agency is not registered; FAILED_PRECONDITION when its record has no
  /// usable signing key.
  virtual StatusOr<crypto::Ed25519PublicKey> SigningKey(const AgencyId& agency) = 0;
  /// Every registered agency of `type` (suspended ones included), ordered by key.
  virtual StatusOr<std::vector<AgencyId>> AgenciesOfType(AgencyType type) = 0;
  virtual StatusOr<bool> IsRegistered(const AgencyId& agency) = 0;
};

class RedisGuidelineDirectory final : public GuidelineDirectory {
 public:
  RedisGuidelineDirectory(redis::RedisClient& redis, std::string trust_domain);

  StatusOr<bool> HoldsPublisherRight(const AgencyId& agency) override;
  StatusOr<crypto::Ed25519PublicKey> SigningKey(const AgencyId& agency) override;
  StatusOr<std::vector<AgencyId>> AgenciesOfType(AgencyType type) override;
  StatusOr<bool> IsRegistered(const AgencyId& agency) override;

 private:
  redis::RedisClient& redis_;
  const std::string trust_domain_;
};

}  // namespace concord::guidelines
