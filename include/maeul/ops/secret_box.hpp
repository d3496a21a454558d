// Webhook secrets at rest: sealed with XChaCha20-Poly1305 (libsodium
// crypto_aead_xchacha20poly1305_ietf) under a 32-byte key kept in a file outside the database,
// a random nonce per seal, the webhook's id as associated data (a sealed secret copied to another
// webhook does not open). docs/security.md, "Webhook hygiene".
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace maeul::ops {

class secret_box {
 public:
  static constexpr std::size_t key_bytes = 32;
  using key = std::array<unsigned char, key_bytes>;

  explicit secret_box(const key& k);
  ~secret_box();
  secret_box(const secret_box&) = delete;
  secret_box& operator=(const secret_box&) = delete;

  // Reads a key file: 64 hex digits (a final newline allowed) or exactly 32 raw bytes. When the file
  // does not exist and `create` is set, writes a new random key there in hex (mode 0600, its
  // directory made with mode 0700 when missing; never replacing a file that appeared meanwhile) and
  // sets *created. Throws std::runtime_error naming the file when it cannot be read or created, has
  // the wrong size, or can be read by other users (mode & 077).
  static key read_key_file(const std::string& path, bool create, bool* created = nullptr);

  // The sealed form: version byte 1, this key's 8-byte id, the 24-byte nonce, the ciphertext with
  // its 16-byte tag. Never the same twice for the same input.
  std::string seal(std::string_view plaintext, std::string_view webhook_id) const;
  // The plaintext, or nullopt when `sealed` was sealed under another key or for another webhook id,
  // or was changed.
  std::optional<std::string> open(std::string_view sealed, std::string_view webhook_id) const;
  // Whether `sealed` names this key (its id), whether or not it would open.
  bool is_mine(std::string_view sealed) const;
  // This key's id in hex (16 digits): safe to log, tells which key file sealed what.
  std::string key_id() const;

 private:
  key key_;
  std::array<unsigned char, 8> id_;
};

}  // namespace maeul::ops
