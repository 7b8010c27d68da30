// SecureRandom: the per-thread reserve hands out each byte once, and a forked child never
// hands out what its parent will (the AES-GCM nonces of the two processes would collide).
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>

#include "common/crypto/openssl_util.h"
#include "gtest/gtest.h"

namespace concord::crypto {
namespace {

using internal::SecureRandom;

TEST(SecureRandom, NoncesAcrossManyReserveRefillsAreAllDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {  // ~235 refills of the 1 KiB reserve
    ASSERT_TRUE(seen.insert(SecureRandom(12)).second) << "repeated at draw " << i;
  }
}

TEST(SecureRandom, LengthsAreExactAndLargeRequestsBypassTheReserve) {
  EXPECT_EQ(SecureRandom(0), "");
  EXPECT_EQ(SecureRandom(1).size(), 1u);
  EXPECT_EQ(SecureRandom(128).size(), 128u);
  const std::string big = SecureRandom(4096);
  ASSERT_EQ(big.size(), 4096u);
  EXPECT_NE(big, std::string(4096, '\0'));
  EXPECT_NE(SecureRandom(32), SecureRandom(32));
}

TEST(SecureRandom, TwoThreadsNeverShareBytes) {
  std::set<std::string> a, b;
  std::thread t([&] {
    for (int i = 0; i < 2000; ++i) a.insert(SecureRandom(16));
  });
  for (int i = 0; i < 2000; ++i) b.insert(SecureRandom(16));
  t.join();
  for (const std::string& x : a) EXPECT_EQ(b.count(x), 0u);
}

TEST(SecureRandom, AForkedChildDoesNotReuseItsParentsReserve) {
  (void)SecureRandom(12);  // the reserve now holds ~1 KiB the parent will hand out next
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string mine = SecureRandom(12);
    const ssize_t w = write(fds[1], mine.data(), mine.size());
    _exit(w == 12 ? 0 : 1);
  }
  close(fds[1]);
  std::string from_child(12, '\0');
  size_t got = 0;
  for (int i = 0; i < 100 && got < 12; ++i) {  // bounded
    const ssize_t r = read(fds[0], from_child.data() + got, 12 - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, 12u);
  EXPECT_NE(from_child, SecureRandom(12)) << "the child handed out the parent's next nonce";
}

}  // namespace
}  // namespace concord::crypto
