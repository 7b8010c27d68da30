// File: cli/concordctl/agency_format.h
//
// Small conversions shared by the directory and audit commands: agency references typed by a
// user ("police/pz-x" or "spiffe://td/agency/police/pz-x") to proto AgencyIds and back, and
// timestamps to text.
#pragma once

#include <string>
#include <string_view>

#include "common/status/status.h"
#include "concord/common/v1/common.pb.h"
#include "concord/directory/v1/directory.pb.h"

namespace google::protobuf {
class Timestamp;
}  // namespace google::protobuf

namespace concord::ctl {

/// "<type>/<id>" (trust domain left empty = the server's own) or a full agency SPIFFE ID.
/// INVALID_ARGUMENT naming `flag` when malformed.
StatusOr<concord::common::v1::AgencyId> ParseAgencyRef(std::string_view flag,
                                                       std::string_view text);

/// From --type and --id. INVALID_ARGUMENT naming the flag when malformed.
StatusOr<concord::common::v1::AgencyId> AgencyIdFromFlags(std::string_view type,
                                                          std::string_view id);

/// "<type>/<id>" ("unspecified/<id>" for an unknown type).
std::string AgencyKeyOf(const concord::common::v1::AgencyId& id);

/// "police" for AGENCY_TYPE_POLICE, "" for UNSPECIFIED.
std::string AgencyTypeText(concord::common::v1::AgencyType type);

/// RFC 3339 UTC ("" for an unset timestamp).
std::string TimestampText(const google::protobuf::Timestamp& ts);

/// Lower-case hex of bytes.
std::string HexText(std::string_view bytes);

/// "--attribute NAME=VALUE" -> the attribute (value "" = reset to the default). INVALID_ARGUMENT
/// naming `flag` when there is no "=" or the name is empty.
StatusOr<concord::directory::v1::AgencyAttribute> ParseAttributeFlag(std::string_view flag,
                                                                     std::string_view text);

}  // namespace concord::ctl
