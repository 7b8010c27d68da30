// File: common/crypto/openssl_util.cc
#include "common/crypto/openssl_util.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace concord::crypto::internal {

std::string DrainOpenSslErrors() {
  std::string first;
  unsigned long err = 0;  // NOLINT(google-runtime-int): OpenSSL's type
  while ((err = ERR_get_error()) != 0) {
    if (first.empty()) {
      const char* reason = ERR_reason_error_string(err);
      first = reason != nullptr ? reason : absl::StrCat("error ", err);
    }
  }
  return first.empty() ? "unknown" : first;
}

Status OpenSslError(absl::StatusCode code, std::string_view what) {
  const std::string reason = DrainOpenSslErrors();
  return Status(
      code, absl::StrCat("crypto: ", absl::string_view(what.data(), what.size()), ": ", reason));
}

void FatalOpenSsl(std::string_view what) {
  const std::string reason = DrainOpenSslErrors();
  std::fprintf(stderr, "concord crypto fatal: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), reason.c_str());
  std::abort();
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) FatalOpenSsl("fetch AES-256-GCM");
    return c;
  }();
  return cipher;
}

const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (m == nullptr) FatalOpenSsl("fetch SHA2-256");
    return m;
  }();
  return md;
}

EVP_KDF* HkdfKdf() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) FatalOpenSsl("fetch HKDF");
    return k;
  }();
  return kdf;
}

namespace {

// A thread's reserve of DRBG output. RAND_bytes costs about 1.5 us per call whatever the length
// (the DRBG's per-call work dominates a 12-byte nonce), and every audit record and sealed body
// takes nonces and keys; one 1 KiB draw serves ~80 nonces at the cost of ~3. Bytes are handed
// out once each and wiped as they leave, so the reserve never holds what was already used. A
// fork copies the reserve: the process id is checked on every draw and a child starts afresh
// (two processes never hand out the same bytes).
struct RandomReserve {
  static constexpr size_t kSize = 1024;
  unsigned char bytes[kSize];
  size_t next = kSize;  // empty
  pid_t owner = 0;
  ~RandomReserve() { OPENSSL_cleanse(bytes, kSize); }
};

}  // namespace

std::string SecureRandom(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  if (n > RandomReserve::kSize / 8) {  // large requests straight from the DRBG
    if (RAND_bytes(U8(out), static_cast<int>(n)) != 1) FatalOpenSsl("RAND_bytes");
    return out;
  }
  thread_local RandomReserve reserve;
  const pid_t pid = getpid();
  if (reserve.owner != pid) {  // first use on this thread, or a forked child
    OPENSSL_cleanse(reserve.bytes, RandomReserve::kSize);
    reserve.next = RandomReserve::kSize;
    reserve.owner = pid;
  }
  if (RandomReserve::kSize - reserve.next < n) {
    if (RAND_bytes(reserve.bytes, static_cast<int>(RandomReserve::kSize)) != 1) {
      FatalOpenSsl("RAND_bytes");
    }
    reserve.next = 0;
  }
  std::memcpy(out.data(), reserve.bytes + reserve.next, n);
  OPENSSL_cleanse(reserve.bytes + reserve.next, n);
  reserve.next += n;
  return out;
}

void Cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Passphrase callback that refuses: without it OpenSSL would prompt on the terminal for an
// encrypted PEM, which would hang a server.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

StatusOr<BioPtr> PemBio(std::string_view pem, std::string_view what) {
  if (pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("crypto: ", AbslView(what), ": empty PEM"));
  }
  if (pem.size() > kMaxPemSize) {
    return absl::InvalidArgumentError(absl::StrCat("crypto: ", AbslView(what), ": PEM too large"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) FatalOpenSsl("BIO_new_mem_buf");
  return bio;
}

StatusOr<EvpPkeyPtr> CheckType(EVP_PKEY* raw, int evp_type, std::string_view what,
                               std::string_view kind) {
  EvpPkeyPtr pkey(raw);
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(AbslView(what), ": cannot parse ", AbslView(kind), " PEM"));
  }
  if (EVP_PKEY_get_id(pkey.get()) != evp_type) {
    DrainOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("crypto: ", AbslView(what), ": PEM holds a different key type"));
  }
  return pkey;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);  // NOLINT(google-runtime-int): OpenSSL's type
  if (len <= 0 || data == nullptr) FatalOpenSsl("BIO_get_mem_data");
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

StatusOr<EvpPkeyPtr> PrivateKeyFromPem(std::string_view pem, int evp_type, std::string_view what) {
  auto bio = PemBio(pem, what);
  if (!bio.ok()) return bio.status();
  return CheckType(PEM_read_bio_PrivateKey(bio->get(), nullptr, &NoPassphrase, nullptr), evp_type,
                   what, "private key");
}

StatusOr<EvpPkeyPtr> PublicKeyFromPem(std::string_view pem, int evp_type, std::string_view what) {
  auto bio = PemBio(pem, what);
  if (!bio.ok()) return bio.status();
  return CheckType(PEM_read_bio_PUBKEY(bio->get(), nullptr, &NoPassphrase, nullptr), evp_type, what,
                   "public key");
}

std::string PrivateKeyToPem(EVP_PKEY* pkey) {
  // Secure-memory BIO: its buffer is cleansed when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    FatalOpenSsl("PEM_write_bio_PKCS8PrivateKey");
  }
  return BioContents(bio.get());
}

std::string PublicKeyToPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    FatalOpenSsl("PEM_write_bio_PUBKEY");
  }
  return BioContents(bio.get());
}

std::string RawPrivateKey(EVP_PKEY* pkey) {
  std::string out(32, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(pkey, U8(out), &len) != 1 || len != 32) {
    FatalOpenSsl("EVP_PKEY_get_raw_private_key");
  }
  return out;
}

std::string RawPublicKey(EVP_PKEY* pkey) {
  std::string out(32, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey, U8(out), &len) != 1 || len != 32) {
    FatalOpenSsl("EVP_PKEY_get_raw_public_key");
  }
  return out;
}

StatusOr<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("crypto: cannot open key file ", path));
  std::string out;
  char buf[4096];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxPemSize) {
      Cleanse(out);
      return absl::InvalidArgumentError(absl::StrCat("crypto: key file too large: ", path));
    }
  }
  if (in.bad()) return absl::InternalError(absl::StrCat("crypto: cannot read key file ", path));
  return out;
}

}  // namespace concord::crypto::internal
