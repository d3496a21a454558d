// TLS contexts for the server (HTTPS, WSS) and the webhook client. OpenSSL through asio::ssl.
#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include <boost/system/system_error.hpp>

namespace maeul::net {
namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps OpenSSL's
// defaults (all of them are).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

// The oldest protocol either side accepts: TLS 1.2 (no SSLv2/3, TLS 1.0, TLS 1.1).
void require_tls12(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("cannot require TLS 1.2");
}

// The last OpenSSL error as text (or `fallback`).
std::string openssl_reason(const std::string& fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string describe(X509* cert) {
  if (!cert) return "no certificate";
  std::string out;
  char name[256];
  X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
  out += "subject ";
  out += name;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      out += ", serial ";
      out += hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      out += ", expires ";
      out.append(data, std::size_t(n));
    }
    BIO_free(bio);
  }
  return out;
}

}  // namespace

namespace detail {

std::shared_ptr<server_tls> make_server_tls(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_server);
  require_tls12(ctx);
  ctx.set_options(ssl::context::single_dh_use);
  SSL_CTX* h = ctx.native_handle();
  if (SSL_CTX_set_cipher_list(h, tls12_ciphers) != 1)
    throw std::runtime_error("cannot set the TLS 1.2 cipher list: " + openssl_reason("unknown"));
  // Buffers stay with the connection: releasing them (SSL_MODE_RELEASE_BUFFERS, which Asio's engine
  // sets on every SSL object it makes; server.cpp clears it per connection) freed and re-allocated a
  // 16 KiB read buffer and a write buffer around every keep-alive request, which under load cost
  // more than the memory they save (about 34 KiB per open TLS connection).
  // No renegotiation (a client-driven CPU sink with nothing to offer an API).
  SSL_CTX_set_options(h, SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("http.tls_cert " + cert_file + ": " + ec.message());
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    std::string why = ec.message();
    if (why.find("mismatch") != std::string::npos) why = "it does not match the certificate in " + cert_file + " (" + why + ")";
    throw std::runtime_error("http.tls_key " + key_file + ": " + why);
  }
  if (SSL_CTX_check_private_key(h) != 1)
    throw std::runtime_error("http.tls_key " + key_file + " does not match the certificate in " + cert_file + ": " +
                             openssl_reason("key mismatch"));
  auto out = std::make_shared<server_tls>(std::move(ctx));
  out->summary = describe(SSL_CTX_get0_certificate(out->ctx.native_handle()));
  return out;
}

}  // namespace detail

std::shared_ptr<const client_tls> make_client_tls(const std::string& ca_file) {
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_client);
  require_tls12(ctx);
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system's CA certificates: " + ec.message());
  } else {
    ctx.load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("webhooks.ca_file " + ca_file + ": " + ec.message());
  }
  return std::make_shared<const client_tls>(std::move(ctx));
}

}  // namespace maeul::net
