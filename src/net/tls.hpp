// TLS contexts (OpenSSL through asio::ssl, no Beast): the server's, built from the PEM pair and
// rebuilt on SIGHUP, and the webhook client's, which verifies the receiver. Internal to src/net.
#pragma once
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "maeul/net/client.hpp"

namespace maeul::net {

namespace detail {

// A server context: TLS 1.2 or newer, forward-secret AEAD ciphers for TLS 1.2, the certificate
// chain and key from PEM files. Connections keep the shared_ptr they started with, so a reload
// never pulls a context from under an open connection.
struct server_tls {
  explicit server_tls(boost::asio::ssl::context c) : ctx(std::move(c)) {}
  boost::asio::ssl::context ctx;
  std::string summary;  // "subject ..., serial ..., expires ..." for the log
};

// Builds a server context from `cert_file` (PEM chain, leaf first) and `key_file` (PEM key).
// Throws std::runtime_error with one line naming the file and OpenSSL's reason when a file cannot
// be read or parsed or the key does not match the certificate.
std::shared_ptr<server_tls> make_server_tls(const std::string& cert_file, const std::string& key_file);

}  // namespace detail

// The webhook client's context (declared in maeul/net/client.hpp). SSL_CTX may be shared by
// threads for new connections, hence `mutable`: asio's stream wants a non-const reference.
struct client_tls {
  explicit client_tls(boost::asio::ssl::context c) : ctx(std::move(c)) {}
  mutable boost::asio::ssl::context ctx;
};

}  // namespace maeul::net
