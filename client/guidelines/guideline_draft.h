// File: client/guidelines/guideline_draft.h
//
// A guideline as its author writes it on disk, before it becomes a signed version: a folder with
// a manifest `guideline.json` and one text file per language (deploy/seed/guidelines/ holds the
// seed set in this form; docs/guidelines.md "Writing a guideline").
//
//   guideline.json  {"guideline_id": "definition-2024-1712",
//                    "topics": ["definition"],
//                    "legal_references": ["Directive 2011/36/EU as amended by ... art. 2(3)"],
//                    "audience": {"public": false, "agency_types": ["police", "magistrate"],
//                                 "agencies": ["reception_centre/pag-asa"]},
//                    "ack_within_days": 30,
//                    "contents": {"fr": "fr.md", "nl": "nl.md"}}
//   fr.md           "# <title>" on the first line, then the body (UTF-8, "\n" line ends;
//                   "\r\n" is normalised)
//
// BuildVersion turns a draft into a Version of a publisher, ready to be validated and signed.
//
// Thread safety: pure functions (LoadDraft reads files).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/guideline/guideline.h"
#include "common/status/status.h"

namespace concord::guidelines::client {

struct Draft {
  std::string guideline_id;
  std::vector<std::string> topics;
  std::vector<std::string> legal_references;
  bool is_public = false;
  std::vector<AgencyType> agency_types;
  std::vector<std::string> agencies;  // "<type>/<id>"
  absl::Duration ack_within = absl::Hours(24 * 30);
  std::vector<guideline::Content> contents;  // in the manifest's order
};

/// Reads DIR/guideline.json and its text files. INVALID_ARGUMENT naming the manifest field or
/// file that is wrong; FAILED_PRECONDITION when a file cannot be read.
StatusOr<Draft> LoadDraft(const std::string& dir);

/// Splits a text file into its title ("# " line) and body. INVALID_ARGUMENT without a title.
StatusOr<guideline::Content> ParseContentFile(const std::string& language, std::string text);

/// The version `version` of the draft, published by `publisher` (trust domain included),
/// effective at `effective_at`, acknowledgements due `ack_within` later (or at `ack_deadline`
/// when given).
StatusOr<guideline::Version> BuildVersion(const Draft& draft, const AgencyId& publisher,
                                          int64_t version, absl::Time effective_at,
                                          std::optional<absl::Time> ack_deadline = std::nullopt);

}  // namespace concord::guidelines::client
