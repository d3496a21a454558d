// Sealing webhook secrets (ops/secret_box.hpp) and the key file they are sealed under.
#include "maeul/ops/secret_box.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "maeul/privacy/vault.hpp"

namespace maeul::ops {
namespace {

constexpr unsigned char version = 1;
constexpr std::size_t id_bytes = 8;
constexpr std::size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t header_bytes = 1 + id_bytes + nonce_bytes;

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
}

}  // namespace

secret_box::secret_box(const key& k) : key_(k) {
  init_sodium();
  unsigned char h[crypto_generichash_BYTES_MIN];
  static constexpr char context[] = "maeul webhook secret key id";
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(context), sizeof context - 1, key_.data(),
                     key_.size());
  std::memcpy(id_.data(), h, id_.size());
}

secret_box::~secret_box() { sodium_memzero(key_.data(), key_.size()); }

secret_box::key secret_box::read_key_file(const std::string& path, bool create, bool* created) {
  // The key file format and its checks are the vault's (privacy/vault.hpp): the first key is used.
  auto keys = privacy::read_key_file(path, create, created, "webhook secret key file");
  key k;
  std::memcpy(k.data(), keys.front().data(), key_bytes);
  for (auto& x : keys) sodium_memzero(x.data(), x.size());
  return k;
}

std::string secret_box::seal(std::string_view plaintext, std::string_view webhook_id) const {
  std::string out(header_bytes + plaintext.size() + tag_bytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = version;
  std::memcpy(p + 1, id_.data(), id_bytes);
  randombytes_buf(p + 1 + id_bytes, nonce_bytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + header_bytes, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(webhook_id.data()), webhook_id.size(), nullptr, p + 1 + id_bytes,
      key_.data());
  out.resize(header_bytes + std::size_t(clen));
  return out;
}

bool secret_box::is_mine(std::string_view sealed) const {
  return sealed.size() >= header_bytes + tag_bytes && static_cast<unsigned char>(sealed[0]) == version &&
         std::memcmp(sealed.data() + 1, id_.data(), id_bytes) == 0;
}

std::optional<std::string> secret_box::open(std::string_view sealed, std::string_view webhook_id) const {
  if (!is_mine(sealed)) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(sealed.size() - header_bytes - tag_bytes, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr,
                                                 p + header_bytes, sealed.size() - header_bytes,
                                                 reinterpret_cast<const unsigned char*>(webhook_id.data()),
                                                 webhook_id.size(), p + 1 + id_bytes, key_.data()) != 0)
    return std::nullopt;
  out.resize(std::size_t(mlen));
  return out;
}

std::string secret_box::key_id() const {
  char hex[2 * id_bytes + 1];
  sodium_bin2hex(hex, sizeof hex, id_.data(), id_.size());
  return hex;
}

}  // namespace maeul::ops
