// File: common/envelope/canonical_reader.h  (private to concord_envelope)
//
// The envelope's decoders use the strict reader of the canonical encoding, which lives in
// common/crypto/canonical_reader.h (shared with common/guideline).
#pragma once

#include "common/crypto/canonical_reader.h"

namespace concord::envelope::internal {

using CanonicalReader = crypto::CanonicalReader;

}  // namespace concord::envelope::internal
