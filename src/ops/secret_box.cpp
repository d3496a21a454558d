// Sealing webhook secrets (ops/secret_box.hpp) and the key file they are sealed under.
#include "maeul/ops/secret_box.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

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

std::runtime_error key_error(const std::string& path, const std::string& what) {
  return std::runtime_error("webhook secret key file " + path + ": " + what);
}

// Writes a new hex key to `path` without ever replacing an existing file: a temporary file in the
// same directory, fsync'd, then link()ed to the name (EEXIST: another process won; use its key).
void create_key_file(const std::string& path) {
  namespace fs = std::filesystem;
  auto dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir)) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw key_error(path, "cannot create its directory: " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  secret_box::key k;
  randombytes_buf(k.data(), k.size());
  char hex[2 * secret_box::key_bytes + 1];
  sodium_bin2hex(hex, sizeof hex, k.data(), k.size());
  sodium_memzero(k.data(), k.size());
  std::string text = std::string(hex) + "\n";
  sodium_memzero(hex, sizeof hex);
  std::string tmp = path + ".new-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw key_error(path, std::string("cannot create it: ") + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    throw key_error(path, std::string("cannot write it: ") + std::strerror(err));
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) throw key_error(path, std::string("cannot create it: ") + std::strerror(err));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
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
  init_sodium();
  if (created) *created = false;
  if (path.empty()) throw std::runtime_error("webhook secret key file: no path given");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create) throw key_error(path, std::strerror(errno));
    create_key_file(path);
    if (created) *created = true;
    if (::stat(path.c_str(), &st) != 0) throw key_error(path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw key_error(path, "not a regular file");
  if (st.st_mode & 077)
    throw key_error(path, "other users may read it (mode 0" + std::to_string((st.st_mode >> 6) & 7) +
                              std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                              "): chmod 600 it");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw key_error(path, std::strerror(errno));
  unsigned char buf[2 * key_bytes + 3];
  ssize_t n = ::read(fd, buf, sizeof buf);
  int err = errno;
  ::close(fd);
  if (n < 0) throw key_error(path, std::strerror(err));
  key k{};
  std::size_t len = std::size_t(n);
  if (len == key_bytes) {
    std::memcpy(k.data(), buf, key_bytes);
  } else {
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) --len;
    std::size_t got = 0;
    if (len != 2 * key_bytes ||
        sodium_hex2bin(k.data(), k.size(), reinterpret_cast<const char*>(buf), len, nullptr, &got, nullptr) != 0 ||
        got != key_bytes) {
      sodium_memzero(buf, sizeof buf);
      throw key_error(path, "must hold 64 hex digits or 32 raw bytes (create one with: openssl rand -hex 32)");
    }
  }
  sodium_memzero(buf, sizeof buf);
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
