#include "common/notify/message_ids.h"

#include <gtest/gtest.h>

#include <set>

#include "common/crypto/hash.h"

namespace concord::notify {
namespace {

NotifierSecret Secret(char fill) { return *NotifierSecret::FromBytes(std::string(32, fill)); }

MessageIds Ids(char fill = 's', std::string notifier = "admin/concord-referrals") {
  return *MessageIds::Create(Secret(fill), std::move(notifier), "rn-");
}

constexpr char kItem[] = "ref-cccccccccccccccccccccccccc-centre_response-overdue-1767225600000";

// The documented derivation (message_ids.h), byte for byte.
TEST(MessageIds, FollowTheDocumentedDerivation) {
  std::string input = "concord.notifier.message_id.v1";
  input.push_back('\0');
  input += "admin/concord-referrals";
  input.push_back('\0');
  input += kItem;
  input.push_back('\0');
  input += "3";
  EXPECT_EQ(Ids().Derive(kItem, 3),
            "rn-" + crypto::HmacSha256Hex(std::string(32, 's'), input).substr(0, 40));
}

TEST(MessageIds, HaveTheShapeMessagingRequires) {
  const std::string id = Ids().Derive(kItem, 0);
  EXPECT_EQ(id.size(), 43u);
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos);
  EXPECT_EQ(Ids().Derive(kItem, 0), id) << "deterministic for one secret";
}

// What an outsider knows (the item id, the old public scheme) does not give the id: it depends
// on the secret, and differs per attempt, per item and per notifier.
TEST(MessageIds, CannotBePredictedWithoutTheSecret) {
  const std::string id = Ids().Derive(kItem, 0);
  EXPECT_NE(id, "rn-" + crypto::Sha256Hex(kItem).substr(0, 40)) << "the old public scheme";
  EXPECT_NE(Ids('t').Derive(kItem, 0), id) << "another secret";
  EXPECT_NE(Ids('s', "admin/concord-directory").Derive(kItem, 0), id) << "another notifier";
  std::set<std::string> ids;
  for (int attempt = 0; attempt < 16; ++attempt) ids.insert(Ids().Derive(kItem, attempt));
  ids.insert(Ids().Derive("ref-cccccccccccccccccccccccccc-v2", 0));
  EXPECT_EQ(ids.size(), 17u);
}

TEST(MessageIds, RefuseABadPrefixOrNoNotifier) {
  EXPECT_EQ(
      MessageIds::Create(Secret('s'), "admin/concord-referrals", "bad prefix!").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MessageIds::Create(Secret('s'), "admin/concord-referrals", std::string(17, 'a'))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MessageIds::Create(Secret('s'), "", "rn-").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::notify
