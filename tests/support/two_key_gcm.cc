#include "tests/support/two_key_gcm.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/aead.h"
#include "common/crypto/kdf.h"
#include "common/status/status_macros.h"

namespace concord::testing {
namespace {

// One GF(2^128) element in GCM's bit order: `hi` holds bytes 0..7 big-endian, so the
// polynomial's x^0 coefficient is the most significant bit of `hi` (NIST SP 800-38D 6.3).
struct Block {
  uint64_t hi = 0;
  uint64_t lo = 0;
};

Block Xor(Block a, Block b) { return {a.hi ^ b.hi, a.lo ^ b.lo}; }

Block FromBytes(std::string_view s) {
  Block b;
  for (int i = 0; i < 8; ++i) b.hi = (b.hi << 8) | static_cast<uint8_t>(s[i]);
  for (int i = 8; i < 16; ++i) b.lo = (b.lo << 8) | static_cast<uint8_t>(s[i]);
  return b;
}

std::string ToBytes(Block b) {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(b.hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) s[8 + i] = static_cast<char>(b.lo >> (56 - 8 * i));
  return s;
}

// Multiplication in GF(2^128) mod x^128 + x^7 + x^2 + x + 1 (SP 800-38D algorithm 1).
Block Mul(Block x, Block y) {
  Block z;
  Block v = y;
  for (int i = 0; i < 128; ++i) {
    const uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
    if (bit != 0) z = Xor(z, v);
    const bool lsb = (v.lo & 1) != 0;
    v.lo = (v.lo >> 1) | (v.hi << 63);
    v.hi >>= 1;
    if (lsb) v.hi ^= 0xE100000000000000ULL;
  }
  return z;
}

Block One() { return {0x8000000000000000ULL, 0}; }

Block Power(Block a, size_t e) {
  Block r = One();
  for (size_t i = 0; i < e; ++i) r = Mul(r, a);
  return r;
}

// a^(2^128 - 2) = a^-1 for a != 0.
Block Inverse(Block a) {
  Block r = One();
  Block s = a;
  for (int k = 1; k < 128; ++k) {
    s = Mul(s, s);
    r = Mul(r, s);
  }
  return r;
}

StatusOr<std::string> AesBlock(std::string_view key, std::string_view in) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(32, '\0');
  int n = 0;
  int m = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()), nullptr) == 1 &&
      EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
      EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                        reinterpret_cast<const unsigned char*>(in.data()), 16) == 1 &&
      EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &m) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok || n + m != 16) return absl::InternalError("AES-256 block encryption failed");
  out.resize(16);
  return out;
}

std::string Counter(std::string_view nonce, uint32_t counter) {
  std::string block(nonce);
  for (int i = 3; i >= 0; --i) block.push_back(static_cast<char>(counter >> (8 * i)));
  return block;
}

// The GHASH input blocks: aad zero-padded, ciphertext (whole blocks), lengths in bits.
std::vector<Block> GhashBlocks(std::string_view aad, const std::vector<Block>& c) {
  std::vector<Block> x;
  for (size_t off = 0; off < aad.size(); off += 16) {
    std::string part(aad.substr(off, 16));
    part.resize(16, '\0');
    x.push_back(FromBytes(part));
  }
  x.insert(x.end(), c.begin(), c.end());
  x.push_back(Block{static_cast<uint64_t>(aad.size()) * 8, static_cast<uint64_t>(c.size()) * 128});
  return x;
}

}  // namespace

StatusOr<std::string> TwoKeyGcmCiphertext(std::string_view key1, std::string_view key2,
                                          std::string_view nonce, std::string_view aad,
                                          std::string_view plaintext1, size_t free_block) {
  if (key1.size() != 32 || key2.size() != 32 || nonce.size() != 12 || plaintext1.empty() ||
      plaintext1.size() % 16 != 0 || free_block >= plaintext1.size() / 16) {
    return absl::InvalidArgumentError("two-key GCM: bad key, nonce, plaintext or free block");
  }
  const size_t n = plaintext1.size() / 16;
  CONCORD_ASSIGN_OR_RETURN(std::string h1_bytes, AesBlock(key1, std::string(16, '\0')));
  CONCORD_ASSIGN_OR_RETURN(std::string h2_bytes, AesBlock(key2, std::string(16, '\0')));
  CONCORD_ASSIGN_OR_RETURN(std::string e1_bytes, AesBlock(key1, Counter(nonce, 1)));
  CONCORD_ASSIGN_OR_RETURN(std::string e2_bytes, AesBlock(key2, Counter(nonce, 1)));
  const Block h1 = FromBytes(h1_bytes);
  const Block h2 = FromBytes(h2_bytes);

  std::vector<Block> c(n);
  for (size_t i = 0; i < n; ++i) {
    CONCORD_ASSIGN_OR_RETURN(std::string ks,
                             AesBlock(key1, Counter(nonce, static_cast<uint32_t>(2 + i))));
    c[i] = Xor(FromBytes(plaintext1.substr(16 * i, 16)), FromBytes(ks));
  }
  c[free_block] = Block{};
  // T(K) = E_K(J0) xor sum_i X_i * H^(m - i + 1) (i = 1..m). Equal tags for K1 and K2:
  //   C_free * (H1^e + H2^e) = E1(J0) + E2(J0) + sum_{i != free} X_i * (H1^.. + H2^..).
  const std::vector<Block> x = GhashBlocks(aad, c);
  const size_t m = x.size();
  const size_t free_pos = (aad.size() + 15) / 16 + free_block;  // 0-based position in x
  Block rhs = Xor(FromBytes(e1_bytes), FromBytes(e2_bytes));
  for (size_t i = 0; i < m; ++i) {
    if (i == free_pos) continue;
    const size_t e = m - i;
    rhs = Xor(rhs, Mul(x[i], Xor(Power(h1, e), Power(h2, e))));
  }
  const size_t e = m - free_pos;
  c[free_block] = Mul(rhs, Inverse(Xor(Power(h1, e), Power(h2, e))));

  Block tag = FromBytes(e1_bytes);
  Block y;
  for (const Block& b : GhashBlocks(aad, c)) y = Mul(Xor(y, b), h1);
  tag = Xor(tag, y);
  std::string out;
  for (const Block& b : c) out += ToBytes(b);
  out += ToBytes(tag);
  return out;
}

StatusOr<crypto::WrappedKey> WrapContentKey(std::string_view content_key,
                                            const std::string& recipient,
                                            const crypto::X25519PublicKey& recipient_key) {
  const crypto::X25519PrivateKey ephemeral = crypto::X25519PrivateKey::Generate();
  CONCORD_ASSIGN_OR_RETURN(std::string shared, ephemeral.Agree(recipient_key));
  crypto::WrappedKey wrapped;
  wrapped.recipient = recipient;
  wrapped.ephemeral_public = ephemeral.PublicKey().Raw();
  wrapped.nonce.resize(12);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(wrapped.nonce.data()), 12) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  CONCORD_ASSIGN_OR_RETURN(
      std::string kek,
      crypto::HkdfSha256(shared, absl::StrCat(wrapped.ephemeral_public, recipient_key.Raw()),
                         std::string(crypto::kSealInfoPrefix) + recipient, 32));
  CONCORD_ASSIGN_OR_RETURN(
      wrapped.ciphertext, crypto::internal::GcmEncrypt(kek, wrapped.nonce, content_key, recipient));
  return wrapped;
}

}  // namespace concord::testing
