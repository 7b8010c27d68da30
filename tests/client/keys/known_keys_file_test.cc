#include "client/keys/known_keys_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace concord::keys {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

class KnownKeysFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("concord_known_keys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "known_keys.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Read() {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static KnownAgency Entry(char fill) {
    return KnownAgency{{std::string(32, fill), std::string(32, static_cast<char>(fill + 1))},
                       kT0,
                       kT0 + absl::Hours(1),
                       KeySource::kEndorsed};
  }

  std::filesystem::path dir_;
  std::string path_;
};

// The documented format (docs/crypto.md "Known-keys file"), byte for byte.
TEST_F(KnownKeysFileTest, FormatIsTheDocumentedOne) {
  const KnownKeys known = {{"spiffe://concord.be/agency/reception_centre/pag-asa", Entry('A')}};
  EXPECT_EQ(FormatKnownKeys(known),
            "{\n"
            "  \"format\": \"concord.known_keys.v1\",\n"
            "  \"agencies\": {\n"
            "    \"spiffe://concord.be/agency/reception_centre/pag-asa\": {\n"
            "      \"signing_key\": \"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\",\n"
            "      \"sealing_key\": \"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\",\n"
            "      \"source\": \"endorsed\",\n"
            "      \"first_seen\": \"2027-01-15T08:00:00Z\",\n"
            "      \"since\": \"2027-01-15T09:00:00Z\"\n"
            "    }\n"
            "  }\n"
            "}\n");
  auto parsed = ParseKnownKeys(FormatKnownKeys(known));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const KnownAgency& a = parsed->at("spiffe://concord.be/agency/reception_centre/pag-asa");
  EXPECT_EQ(a.keys, Entry('A').keys);
  EXPECT_EQ(a.first_seen, kT0);
  EXPECT_EQ(a.since, kT0 + absl::Hours(1));
  EXPECT_EQ(a.source, KeySource::kEndorsed);
}

TEST_F(KnownKeysFileTest, AbsentIsEmptyAndAWriteIsAtomicAndPrivate) {
  KnownKeysFile file(path_);
  auto empty = file.Load();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(file.Update([](KnownKeys& k) -> StatusOr<bool> {
                    k["spiffe://concord.be/agency/police/a"] = Entry('a');
                    return true;
                  })
                  .ok());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = file.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 1u);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "no temporary file left";
  }
  // false: nothing is written.
  const std::string before = Read();
  ASSERT_TRUE(file.Update([](KnownKeys& k) -> StatusOr<bool> {
                    k.clear();
                    return false;
                  })
                  .ok());
  EXPECT_EQ(Read(), before);
}

// A damaged file is refused, never reset: starting afresh would trust whatever comes next.
TEST_F(KnownKeysFileTest, AMalformedOrOpenFileIsRefusedNotReset) {
  std::ofstream(path_) << "{\"format\": \"concord.known_keys.v1\", \"agencies\": {\"x\": 1}}";
  ::chmod(path_.c_str(), 0600);
  KnownKeysFile file(path_);
  EXPECT_EQ(file.Load().status().code(), absl::StatusCode::kFailedPrecondition);
  const Status s = file.Update([](KnownKeys&) -> StatusOr<bool> { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(path_), std::string::npos) << s;
  EXPECT_EQ(Read(), "{\"format\": \"concord.known_keys.v1\", \"agencies\": {\"x\": 1}}");

  std::ofstream(path_, std::ios::trunc) << FormatKnownKeys({});
  ::chmod(path_.c_str(), 0620);
  const Status open = file.Load().status();
  EXPECT_EQ(open.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(open.message().find("writable by group or others"), std::string::npos) << open;
  ::chmod(path_.c_str(), 0600);
  EXPECT_TRUE(file.Load().ok());
  std::ofstream(path_, std::ios::trunc) << "{\"format\": \"something.else\"}";
  EXPECT_EQ(file.Load().status().code(), absl::StatusCode::kFailedPrecondition);
}

// Concurrent read-modify-writes (threads here; processes alike, through the lock file) lose no
// entry.
TEST_F(KnownKeysFileTest, ConcurrentUpdatesLoseNothing) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([this, i] {
      KnownKeysFile file(path_);
      const Status s = file.Update([i](KnownKeys& k) -> StatusOr<bool> {
        k["spiffe://concord.be/agency/police/p" + std::to_string(i)] =
            Entry(static_cast<char>('a' + i));
        return true;
      });
      EXPECT_TRUE(s.ok()) << s;
    });
  }
  for (std::thread& t : threads) t.join();
  auto loaded = KnownKeysFile(path_).Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 8u);
}

}  // namespace
}  // namespace concord::keys
