// The welfare vault's cryptography (API §9, docs/security.md "The welfare vault"): key files,
// envelope encryption of a resident's record, the phone's blind index, and the hash chain of the
// access records. No I/O besides the key file; no database.
//
// Envelope: every record has its own random 32-byte data key; the record is sealed under it with
// XChaCha20-Poly1305 (libsodium crypto_aead_xchacha20poly1305_ietf, random 24-byte nonce), and the
// data key is stored only wrapped by a key-encryption key (KEK) read from privacy.key_file. The
// record's id is the associated data of both, so a sealed record or a wrapped key copied to another
// record does not open. Rotation re-wraps data keys (the records themselves are not re-sealed);
// erasure throws the wrapped data key away, after which nothing can open the record.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maeul::privacy {

inline constexpr std::size_t key_bytes = 32;
using key = std::array<unsigned char, key_bytes>;

// A new random key.
key random_key();
// The key's id: 16 hex digits of a keyed BLAKE2b of the key (safe to store and log).
std::string key_id(const key& k);

// Reads a key file: one key per line (64 hex digits), the first the current one, the others
// older keys still accepted for unwrapping (during a rotation). A file of exactly 32 raw bytes is
// one key. When the file does not exist and `create` is set, writes one new random key there (mode
// 0600; its directory made 0700 when missing; never replacing a file that appeared meanwhile) and
// sets *created. Throws std::runtime_error "<what> <path>: <why>" when it cannot be read or
// created, holds no valid key, or other users may read it (mode & 077).
std::vector<key> read_key_file(const std::string& path, bool create, bool* created, const std::string& what);
// Replaces the key file with `keys` (current first) atomically: a temporary file (0600) fsync'd
// and renamed over it, then the directory fsync'd. Throws std::runtime_error on failure.
void write_key_file(const std::string& path, const std::vector<key>& keys, const std::string& what);

// A record as stored: which KEK wraps its data key, the wrapped data key, the sealed plaintext.
struct sealed_record {
  std::string key_id, wrapped_key, sealed;
};

class keyring {
 public:
  // keys: current first. Throws std::invalid_argument when empty.
  explicit keyring(std::vector<key> keys);
  ~keyring();
  keyring(const keyring&) = delete;
  keyring& operator=(const keyring&) = delete;

  const std::string& current_id() const { return ids_.front(); }
  bool has(std::string_view id) const;
  std::size_t size() const { return keys_.size(); }

  // A new data key, wrapped under the current KEK, and `plaintext` sealed under it.
  sealed_record seal_new(std::string_view plaintext, std::string_view record_id) const;
  // `plaintext` sealed under the record's existing data key (an edit); nullopt when it does not unwrap.
  std::optional<std::string> reseal(const sealed_record& r, std::string_view plaintext, std::string_view record_id) const;
  // The plaintext; nullopt when the data key is gone (erased), its KEK is not in the ring, or
  // anything was changed.
  std::optional<std::string> open(const sealed_record& r, std::string_view record_id) const;
  // The data key re-wrapped under the current KEK (rotation): {key_id, wrapped}; nullopt when it
  // does not unwrap.
  std::optional<std::pair<std::string, std::string>> rewrap(const sealed_record& r, std::string_view record_id) const;

  // Blind index of a normalized value (HMAC-SHA-256 under a key derived from the KEK): the current
  // KEK's first, then the older ones' (a lookup during a rotation tries each).
  std::string blind_index(std::string_view normalized) const;
  std::vector<std::string> blind_indexes(std::string_view normalized) const;

 private:
  std::optional<key> unwrap(const sealed_record& r, std::string_view record_id) const;
  std::vector<key> keys_;
  std::vector<std::string> ids_;
  std::vector<key> index_keys_;
};

// A phone number as the blind index sees it: its digits only (a leading "+82" and the national
// "0" read the same: "+82 10-1234-5678" and "010-1234-5678" are one number). "" when it holds
// fewer than 7 digits.
std::string normalize_phone(std::string_view phone);

// One access record's fields, as chained.
struct access_fields {
  std::int64_t seq = 0, at_us = 0;
  std::string actor, role, ip, action, resident;  // resident "" for none
  std::int64_t alert_id = 0;                       // 0 for none
  std::string purpose;
};
// SHA-256 over the previous record's hash and this record's fields, each length-prefixed (no two
// different records serialize the same). 32 raw bytes.
std::string chain_hash(std::string_view prev_hash, const access_fields& f);

// "r-" / "hh-" + 16 random hex digits.
std::string random_id(std::string_view prefix);

}  // namespace maeul::privacy
