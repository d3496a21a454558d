// The welfare vault's cryptography (privacy/vault.hpp).
#include "maeul/privacy/vault.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace maeul::privacy {
namespace {

constexpr unsigned char wrap_version = 1;
constexpr std::size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
}

std::runtime_error key_error(const std::string& what, const std::string& path, const std::string& why) {
  return std::runtime_error(what + " " + path + ": " + why);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string hex_of(const unsigned char* p, std::size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

void fsync_dir(const std::filesystem::path& dir) {
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// Writes `text` to a new temporary file (0600) beside `path`, fsync'd; returns its name.
std::string write_temp(const std::string& path, std::string& text, const std::string& what) {
  namespace fs = std::filesystem;
  auto dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw key_error(what, path, "cannot create its directory: " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  std::string tmp = path + ".new-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw key_error(what, path, std::string("cannot create it: ") + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    throw key_error(what, path, std::string("cannot write it: ") + std::strerror(err));
  }
  return tmp;
}

std::string key_lines(const std::vector<key>& keys) {
  std::string text;
  for (const auto& k : keys) text += hex_of(k.data(), k.size()) + "\n";
  return text;
}

// HMAC key of the blind index, derived from a KEK (so the index dies with the key).
key index_key_of(const key& kek) {
  key out;
  static constexpr char context[] = "maeul blind index v1";
  crypto_generichash(out.data(), out.size(), bytes(context), sizeof context - 1, kek.data(), kek.size());
  return out;
}

std::string hmac(const key& k, std::string_view msg) {
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, k.data(), k.size());
  crypto_auth_hmacsha256_update(&st, bytes(msg), msg.size());
  crypto_auth_hmacsha256_final(&st, out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string aead_seal(const unsigned char* k, std::string_view plaintext, std::string_view ad) {
  std::string out(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(p, nonce_bytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + nonce_bytes, &clen, bytes(plaintext), plaintext.size(), bytes(ad),
                                             ad.size(), nullptr, p, k);
  out.resize(nonce_bytes + std::size_t(clen));
  return out;
}

std::optional<std::string> aead_open(const unsigned char* k, std::string_view sealed, std::string_view ad) {
  if (sealed.size() < nonce_bytes + tag_bytes) return std::nullopt;
  std::string out(sealed.size() - nonce_bytes - tag_bytes, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr,
                                                 bytes(sealed) + nonce_bytes, sealed.size() - nonce_bytes, bytes(ad),
                                                 ad.size(), bytes(sealed), k) != 0)
    return std::nullopt;
  out.resize(std::size_t(mlen));
  return out;
}

std::string wrap_ad(std::string_view record_id) { return "maeul data key:" + std::string(record_id); }
std::string seal_ad(std::string_view record_id) { return "maeul record:" + std::string(record_id); }

}  // namespace

key random_key() {
  init_sodium();
  key k;
  randombytes_buf(k.data(), k.size());
  return k;
}

std::string key_id(const key& k) {
  init_sodium();
  unsigned char h[8];
  static constexpr char context[] = "maeul key id";
  // BLAKE2b keyed by the key over a fixed context: the id says nothing about the key.
  unsigned char full[crypto_generichash_BYTES_MIN];
  crypto_generichash(full, sizeof full, bytes(context), sizeof context - 1, k.data(), k.size());
  std::memcpy(h, full, sizeof h);
  return hex_of(h, sizeof h);
}

std::vector<key> read_key_file(const std::string& path, bool create, bool* created, const std::string& what) {
  init_sodium();
  if (created) *created = false;
  if (path.empty()) throw std::runtime_error(what + ": no path given");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) throw key_error(what, path, std::strerror(errno));
    auto text = key_lines({random_key()});
    auto tmp = write_temp(path, text, what);
    // link(): never replaces a file that appeared meanwhile (EEXIST: another process won; use its key)
    int rc = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && err != EEXIST) throw key_error(what, path, std::string("cannot create it: ") + std::strerror(err));
    fsync_dir(std::filesystem::path(path).parent_path());
    if (created) *created = rc == 0;
    if (::stat(path.c_str(), &st) != 0) throw key_error(what, path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw key_error(what, path, "not a regular file");
  if (st.st_mode & 077)
    throw key_error(what, path,
                    "other users may read it (mode 0" + std::to_string((st.st_mode >> 6) & 7) +
                        std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + "): chmod 600 it");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw key_error(what, path, std::strerror(errno));
  std::string buf(4096, '\0');
  ssize_t n = ::read(fd, buf.data(), buf.size());
  int err = errno;
  ::close(fd);
  if (n < 0) throw key_error(what, path, std::strerror(err));
  buf.resize(std::size_t(n));
  std::vector<key> keys;
  auto bad = [&] {
    sodium_memzero(buf.data(), buf.size());
    return key_error(what, path, "must hold one key per line, 64 hex digits each, or 32 raw bytes "
                                 "(create one with: openssl rand -hex 32)");
  };
  if (buf.size() == key_bytes && buf.find('\n') == std::string::npos) {
    key k;
    std::memcpy(k.data(), buf.data(), key_bytes);
    keys.push_back(k);
  } else {
    std::size_t pos = 0;
    while (pos < buf.size()) {
      auto end = buf.find('\n', pos);
      if (end == std::string::npos) end = buf.size();
      std::string_view line(buf.data() + pos, end - pos);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      pos = end + 1;
      if (line.empty()) continue;
      key k;
      std::size_t got = 0;
      if (line.size() != 2 * key_bytes ||
          sodium_hex2bin(k.data(), k.size(), line.data(), line.size(), nullptr, &got, nullptr) != 0 || got != key_bytes)
        throw bad();
      keys.push_back(k);
    }
  }
  sodium_memzero(buf.data(), buf.size());
  if (keys.empty()) throw bad();
  return keys;
}

void write_key_file(const std::string& path, const std::vector<key>& keys, const std::string& what) {
  init_sodium();
  auto text = key_lines(keys);
  auto tmp = write_temp(path, text, what);
  // The replacement keeps the file's owner: `keys rotate` run as root must not leave a file the
  // daemon's user can no longer read.
  struct stat old {};
  if (::stat(path.c_str(), &old) == 0 && ::geteuid() == 0 && ::chown(tmp.c_str(), old.st_uid, old.st_gid) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw key_error(what, path, std::string("cannot give the new file its owner: ") + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw key_error(what, path, std::string("cannot replace it: ") + std::strerror(err));
  }
  fsync_dir(std::filesystem::path(path).parent_path());
}

keyring::keyring(std::vector<key> keys) : keys_(std::move(keys)) {
  init_sodium();
  if (keys_.empty()) throw std::invalid_argument("a keyring needs a key");
  for (const auto& k : keys_) {
    ids_.push_back(key_id(k));
    index_keys_.push_back(index_key_of(k));
  }
}

keyring::~keyring() {
  for (auto& k : keys_) sodium_memzero(k.data(), k.size());
  for (auto& k : index_keys_) sodium_memzero(k.data(), k.size());
}

bool keyring::has(std::string_view id) const {
  for (const auto& i : ids_)
    if (i == id) return true;
  return false;
}

sealed_record keyring::seal_new(std::string_view plaintext, std::string_view record_id) const {
  key dek = random_key();
  sealed_record r;
  r.key_id = ids_.front();
  r.wrapped_key = std::string(1, char(wrap_version)) +
                  aead_seal(keys_.front().data(), std::string_view(reinterpret_cast<const char*>(dek.data()), dek.size()),
                            wrap_ad(record_id));
  r.sealed = aead_seal(dek.data(), plaintext, seal_ad(record_id));
  sodium_memzero(dek.data(), dek.size());
  return r;
}

std::optional<key> keyring::unwrap(const sealed_record& r, std::string_view record_id) const {
  if (r.wrapped_key.empty() || static_cast<unsigned char>(r.wrapped_key[0]) != wrap_version) return std::nullopt;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (ids_[i] != r.key_id) continue;
    auto plain = aead_open(keys_[i].data(), std::string_view(r.wrapped_key).substr(1), wrap_ad(record_id));
    if (!plain || plain->size() != key_bytes) return std::nullopt;
    key dek;
    std::memcpy(dek.data(), plain->data(), key_bytes);
    sodium_memzero(plain->data(), plain->size());
    return dek;
  }
  return std::nullopt;
}

std::optional<std::string> keyring::reseal(const sealed_record& r, std::string_view plaintext,
                                           std::string_view record_id) const {
  auto dek = unwrap(r, record_id);
  if (!dek) return std::nullopt;
  auto out = aead_seal(dek->data(), plaintext, seal_ad(record_id));
  sodium_memzero(dek->data(), dek->size());
  return out;
}

std::optional<std::string> keyring::open(const sealed_record& r, std::string_view record_id) const {
  auto dek = unwrap(r, record_id);
  if (!dek) return std::nullopt;
  auto out = aead_open(dek->data(), r.sealed, seal_ad(record_id));
  sodium_memzero(dek->data(), dek->size());
  return out;
}

std::optional<std::pair<std::string, std::string>> keyring::rewrap(const sealed_record& r,
                                                                   std::string_view record_id) const {
  auto dek = unwrap(r, record_id);
  if (!dek) return std::nullopt;
  auto wrapped = std::string(1, char(wrap_version)) +
                 aead_seal(keys_.front().data(),
                           std::string_view(reinterpret_cast<const char*>(dek->data()), dek->size()), wrap_ad(record_id));
  sodium_memzero(dek->data(), dek->size());
  return std::make_pair(ids_.front(), std::move(wrapped));
}

std::string keyring::blind_index(std::string_view normalized) const { return hmac(index_keys_.front(), normalized); }

std::vector<std::string> keyring::blind_indexes(std::string_view normalized) const {
  std::vector<std::string> out;
  for (const auto& k : index_keys_) out.push_back(hmac(k, normalized));
  return out;
}

std::string normalize_phone(std::string_view phone) {
  std::string digits;
  for (char c : phone)
    if (c >= '0' && c <= '9') digits += c;
  // +82 10 ... (international) and 010 ... (national) are one number.
  bool international = phone.find('+') != std::string_view::npos;
  if (international && digits.rfind("82", 0) == 0) digits = "0" + digits.substr(2);
  return digits.size() >= 7 ? digits : std::string();
}

std::string chain_hash(std::string_view prev_hash, const access_fields& f) {
  init_sodium();
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  auto put = [&](std::string_view s) {
    std::uint64_t n = s.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    crypto_hash_sha256_update(&st, len, sizeof len);
    crypto_hash_sha256_update(&st, bytes(s), s.size());
  };
  put(prev_hash);
  put(std::to_string(f.seq));
  put(std::to_string(f.at_us));
  put(f.actor);
  put(f.role);
  put(f.ip);
  put(f.action);
  put(f.resident);
  put(std::to_string(f.alert_id));
  put(f.purpose);
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string random_id(std::string_view prefix) {
  init_sodium();
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  return std::string(prefix) + hex_of(b, sizeof b);
}

}  // namespace maeul::privacy
