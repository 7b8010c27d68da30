#include "common/envelope/envelope.h"

namespace concord::envelope {

std::string_view HandlingCodeName(HandlingCode code) {
  switch (code) {
    case HandlingCode::kH0:
      return "H0";
    case HandlingCode::kH1:
      return "H1";
    case HandlingCode::kH2:
      return "H2";
    case HandlingCode::kH3:
      return "H3";
  }
  return "?";
}

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kInformation:
      return "information";
    case MessageKind::kRequest:
      return "request";
    case MessageKind::kResponse:
      return "response";
    case MessageKind::kNotification:
      return "notification";
  }
  return "?";
}

std::string_view ClassificationName(Classification c) {
  switch (c) {
    case Classification::kUnclassified:
      return "unclassified";
    case Classification::kRestricted:
      return "restricted";
    case Classification::kConfidential:
      return "confidential";
  }
  return "?";
}

bool IsValidClientId(std::string_view id) {
  if (id.size() < 16 || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

ForwardRoot RootOf(const Envelope& e) {
  if (!e.forward) return {e.message_id, e.sender};
  if (e.version == EnvelopeVersion::kV1) {
    return {e.forward->original_message_id, e.forward->original_sender};
  }
  return {e.forward->root_message_id, e.forward->root_sender};
}

}  // namespace concord::envelope
