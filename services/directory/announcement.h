// File: services/directory/announcement.h
//
// Announcements: every registration of an agency, and every update that changes its record,
// is told to the agency concerned by a signed Concord message (kind NOTIFICATION) from
// Concord's own identity admin/concord-directory, so that an agency notices a change it did not
// ask for (e.g. its sealing key swapped so that others seal to an attacker). The directory
// writes the announcement into its outbox stream in the same Lua script as the change
// (redis_directory_store.cc), so a stored change is never left unannounced; a worker sends it
// through concord.messaging.v1 afterwards.
//
// Body (JSON text, no personal data: the officer and the justification stay in the audit log):
//   {"type": "directory.change", "event": "agency.registered" | "agency.updated",
//    "agency": "<type>/<id>", "version": <record version>, "by": "<admin agency key>",
//    "at": "<RFC 3339 UTC>", "changes": [{"field": "...", "value": "..."}, ...],
//    "text": "<one sentence for people>"}
// `changes` are DiffAgency's (agency.h): field names; key fingerprints (docs/crypto.md) for
// "signing_public_key" / "sealing_public_key"; "present"/"absent" for "key_endorsement";
// effective values for "attributes.<name>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "services/directory/agency.h"

namespace concord::directory {

inline constexpr std::string_view kAnnouncementType = "directory.change";

/// The announcement id of version `version` of `agency`: "<type>/<id>@v<version>".
std::string AnnouncementId(const AgencyId& agency, int64_t version);

/// The JSON body described in the file comment.
std::string AnnouncementBody(std::string_view event, const AgencyId& agency, int64_t version,
                             const AgencyId& by, absl::Time at,
                             const std::vector<RecordChange>& changes);

}  // namespace concord::directory
