// File: common/guideline/guideline_proto.h
//
// concord.guidelines.v1 protos <-> the domain types of guideline.h, for the service and the
// agency side alike. A conversion that cannot represent a field (an unknown agency type, a
// malformed agency id, a timestamp out of range) is INVALID_ARGUMENT with one field violation per
// problem, paths under `field` ("version.audience.agencies[2]"); the rules of form are
// ValidateVersion's.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/guideline/guideline.h"
#include "common/status/status.h"
#include "concord/guidelines/v1/guidelines.pb.h"

namespace concord::guideline {

namespace v1 = ::concord::guidelines::v1;

StatusOr<Version> VersionFromProto(const v1::GuidelineVersion& proto,
                                   std::string_view field = "version");
/// The signed fields and the signature (sha256 is not read: the caller computes it).
StatusOr<SignedVersion> SignedVersionFromProto(const v1::GuidelineVersion& proto,
                                               std::string_view field = "version");
/// Every field; `sha256` (raw 32 bytes) is set as given.
void SignedVersionToProto(const SignedVersion& version, std::string_view sha256,
                          v1::GuidelineVersion& out);
void VersionToProto(const Version& version, v1::GuidelineVersion& out);

StatusOr<SignedWithdrawal> SignedWithdrawalFromProto(const v1::Withdrawal& proto,
                                                     std::string_view field = "withdrawal");
void SignedWithdrawalToProto(const SignedWithdrawal& withdrawal, v1::Withdrawal& out);

/// Agency ids and times, as the proto carries them.
StatusOr<AgencyId> AgencyFromProto(const ::concord::common::v1::AgencyId& proto);
void AgencyToProto(const AgencyId& agency, ::concord::common::v1::AgencyId& out);
absl::Time TimeFromProto(const google::protobuf::Timestamp& ts);
void TimeToProto(absl::Time t, google::protobuf::Timestamp& out);
/// Seconds within the range whose nanoseconds fit int64 (years 1678..2262), nanos in [0, 1e9).
bool IsEncodableTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace concord::guideline
