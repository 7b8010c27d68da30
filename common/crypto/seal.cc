// File: common/crypto/seal.cc
#include "common/crypto/seal.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/aead.h"
#include "common/crypto/hash.h"
#include "common/crypto/kdf.h"
#include "common/crypto/openssl_util.h"
#include "common/status/status_macros.h"

namespace concord::crypto {
namespace {

constexpr size_t kContentKeySize = 32;
constexpr size_t kWrappedKeySize = kContentKeySize + kAeadTagSize;

// Holds a secret std::string and wipes it on scope exit, on every return path.
class SecretString {
 public:
  explicit SecretString(std::string s) : s_(std::move(s)) {}
  ~SecretString() { internal::Cleanse(s_); }
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  const std::string& get() const { return s_; }

 private:
  std::string s_;
};

// KEK = HKDF-SHA256(S, E || P, "concord-seal-v1|" + id).
StatusOr<std::string> DeriveKek(std::string_view shared, std::string_view ephemeral_public,
                                std::string_view recipient_public, std::string_view recipient) {
  const std::string salt =
      absl::StrCat(absl::string_view(ephemeral_public.data(), ephemeral_public.size()),
                   absl::string_view(recipient_public.data(), recipient_public.size()));
  std::string info(kSealInfoPrefix);
  info.append(recipient);
  return HkdfSha256(shared, salt, info, kAeadKeySize);
}

// Seal with a fresh content key; the key is handed to `on_key` (for the commitment) before it
// is wiped.
template <typename OnKey>
StatusOr<SealedBox> SealImpl(std::string_view plaintext,
                             const std::vector<std::pair<std::string, X25519PublicKey>>& recipients,
                             std::string_view aad, OnKey on_key) {
  if (recipients.empty()) return absl::InvalidArgumentError("seal: no recipients");
  if (recipients.size() > kMaxSealRecipients) {
    return absl::InvalidArgumentError(
        absl::StrCat("seal: more than ", kMaxSealRecipients, " recipients"));
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < recipients.size(); ++i) {
    const std::string& id = recipients[i].first;
    if (id.empty() || id.size() > kMaxRecipientIdSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("seal: recipient ", i, ": id must be 1..", kMaxRecipientIdSize, " bytes"));
    }
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("seal: recipient ", i, ": duplicate id"));
    }
  }

  const SecretString content_key(internal::SecureRandom(kContentKeySize));
  SealedBox box;
  box.nonce = internal::SecureRandom(kAeadNonceSize);
  CONCORD_ASSIGN_OR_RETURN(box.ciphertext,
                           internal::GcmEncrypt(content_key.get(), box.nonce, plaintext, aad));
  box.keys.reserve(recipients.size());
  for (size_t i = 0; i < recipients.size(); ++i) {
    const auto& [id, recipient_key] = recipients[i];
    // Security: a fresh ephemeral key per recipient and per message (no key reuse across boxes).
    const X25519PrivateKey ephemeral = X25519PrivateKey::Generate();
    auto shared = ephemeral.Agree(recipient_key);
    if (!shared.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("seal: recipient ", i, ": unusable X25519 public key"));
    }
    const SecretString shared_secret(*std::move(shared));
    WrappedKey wrapped;
    wrapped.recipient = id;
    wrapped.ephemeral_public = ephemeral.PublicKey().Raw();
    wrapped.nonce = internal::SecureRandom(kAeadNonceSize);
    CONCORD_ASSIGN_OR_RETURN(
        std::string kek_bytes,
        DeriveKek(shared_secret.get(), wrapped.ephemeral_public, recipient_key.Raw(), id));
    const SecretString kek(std::move(kek_bytes));
    CONCORD_ASSIGN_OR_RETURN(wrapped.ciphertext,
                             internal::GcmEncrypt(kek.get(), wrapped.nonce, content_key.get(), id));
    box.keys.push_back(std::move(wrapped));
  }
  on_key(content_key.get());
  return box;
}

// Unwraps the content key of `recipient`'s entry (the checks of Open, in its order).
StatusOr<std::string> UnwrapContentKey(const SealedBox& box, std::string_view recipient,
                                       const X25519PrivateKey& key) {
  if (box.nonce.size() != kAeadNonceSize) {
    return absl::InvalidArgumentError("open: content nonce must be 12 bytes");
  }
  if (box.ciphertext.size() < kAeadTagSize) {
    return absl::InvalidArgumentError("open: content ciphertext shorter than the tag");
  }
  if (box.keys.empty() || box.keys.size() > kMaxSealRecipients) {
    return absl::InvalidArgumentError(
        absl::StrCat("open: box must hold 1..", kMaxSealRecipients, " key entries"));
  }
  const WrappedKey* entry = nullptr;
  for (const WrappedKey& k : box.keys) {
    if (k.recipient != recipient) continue;
    if (entry != nullptr) {
      return absl::InvalidArgumentError("open: several key entries for this recipient");
    }
    entry = &k;
  }
  if (entry == nullptr) return absl::NotFoundError("open: no key entry for this recipient");
  if (entry->ephemeral_public.size() != kX25519KeySize || entry->nonce.size() != kAeadNonceSize ||
      entry->ciphertext.size() != kWrappedKeySize) {
    return absl::InvalidArgumentError("open: malformed key entry (field sizes)");
  }

  CONCORD_ASSIGN_OR_RETURN(const X25519PublicKey ephemeral,
                           X25519PublicKey::FromRaw(entry->ephemeral_public));
  auto shared = key.Agree(ephemeral);
  if (!shared.ok()) {
    // A low-order ephemeral key can only come from tampering or a broken sender.
    return absl::DataLossError("open: key entry has an unusable ephemeral key (altered)");
  }
  const SecretString shared_secret(*std::move(shared));
  CONCORD_ASSIGN_OR_RETURN(
      std::string kek_bytes,
      DeriveKek(shared_secret.get(), entry->ephemeral_public, key.PublicKey().Raw(), recipient));
  const SecretString kek(std::move(kek_bytes));
  auto content_key = internal::GcmDecrypt(kek.get(), entry->nonce, entry->ciphertext, recipient,
                                          "open: key unwrap");
  if (!content_key.ok()) {
    if (content_key.status().code() == absl::StatusCode::kDataLoss) {
      return absl::DataLossError(
          "open: cannot unwrap the content key (wrong private key, or key entry altered)");
    }
    return content_key.status();
  }
  return content_key;
}

StatusOr<std::string> Decrypt(const SealedBox& box, const std::string& content_key,
                              std::string_view aad) {
  auto plaintext =
      internal::GcmDecrypt(content_key, box.nonce, box.ciphertext, aad, "open: content");
  if (!plaintext.ok() && plaintext.status().code() == absl::StatusCode::kDataLoss) {
    return absl::DataLossError(
        "open: content authentication failed (ciphertext, nonce, tag or aad altered)");
  }
  return plaintext;
}

}  // namespace

std::string ContentKeyCommitment(std::string_view content_key) {
  std::string input(kKeyCommitmentPrefix);
  input.append(content_key);
  const auto digest = Sha256(input);
  internal::Cleanse(input);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

StatusOr<SealedBox> Seal(std::string_view plaintext,
                         const std::vector<std::pair<std::string, X25519PublicKey>>& recipients,
                         std::string_view aad) {
  return SealImpl(plaintext, recipients, aad, [](const std::string&) {});
}

StatusOr<CommittedBox> SealCommitted(
    std::string_view plaintext,
    const std::vector<std::pair<std::string, X25519PublicKey>>& recipients, std::string_view aad) {
  CommittedBox out;
  CONCORD_ASSIGN_OR_RETURN(out.box, SealImpl(plaintext, recipients, aad, [&](const std::string& k) {
                             out.key_commitment = ContentKeyCommitment(k);
                           }));
  return out;
}

StatusOr<std::string> Open(const SealedBox& box, std::string_view recipient,
                           const X25519PrivateKey& key, std::string_view aad) {
  CONCORD_ASSIGN_OR_RETURN(std::string k, UnwrapContentKey(box, recipient, key));
  const SecretString content_key(std::move(k));
  return Decrypt(box, content_key.get(), aad);
}

StatusOr<std::string> OpenCommitted(const SealedBox& box, std::string_view recipient,
                                    const X25519PrivateKey& key, std::string_view aad,
                                    std::string_view key_commitment) {
  CONCORD_ASSIGN_OR_RETURN(std::string k, UnwrapContentKey(box, recipient, key));
  const SecretString content_key(std::move(k));
  // Security: checked before decrypting, so that no plaintext of an uncommitted key is ever
  // produced (a ciphertext may open under two keys; only the committed one counts).
  if (key_commitment.size() != kKeyCommitmentSize ||
      !ConstantTimeEquals(ContentKeyCommitment(content_key.get()), key_commitment)) {
    return WithReason(absl::DataLossError("open: the content key wrapped for this recipient does "
                                          "not match the signed key commitment"),
                      "KEY_COMMITMENT_MISMATCH");
  }
  return Decrypt(box, content_key.get(), aad);
}

}  // namespace concord::crypto
