// Webhook URL rules at registration and the delivery-time address check (ops/webhook_policy.hpp).
#include <gtest/gtest.h>

#include "maeul/ops/webhook_policy.hpp"

namespace {
using maeul::ops::refuse_destination;
using maeul::ops::refuse_webhook_url;

TEST(webhook_url, accepted) {
  for (bool allow_private : {false, true})
    for (const char* u : {"http://example.org/", "https://hooks.example.org:8443/maeul?city=sokcho",
                          "http://8.8.8.8/x", "http://[2001:4860:4860::8888]:8080/", "http://receiver.city.go.kr.:80/a%20b",
                          "http://Example.ORG/path/with-dash_and~tilde"})
      EXPECT_EQ(refuse_webhook_url(u, allow_private), std::nullopt) << u << " allow_private=" << allow_private;
}

TEST(webhook_url, private_literals_refused_only_when_not_allowed) {
  for (const char* u : {"http://127.0.0.1:9000/", "http://10.0.0.1/", "http://[::1]/", "http://[64:ff9b::a00:1]/",
                        "http://[::ffff:10.0.0.1]/", "http://198.18.0.1/", "http://[2002:a00:1::]/", "http://[fec0::1]/",
                        "http://169.254.169.254/latest/meta-data", "http://127.1/", "http://2130706433/",
                        "http://0x7f.0.0.1/", "http://[fe80::1]/", "http://0.0.0.0/", "http://[::]/"}) {
    auto why = refuse_webhook_url(u, false);
    ASSERT_TRUE(why) << u << " is refused with allow_private=false";
    EXPECT_NE(why->find("private or reserved"), std::string::npos) << *why;
    EXPECT_EQ(refuse_webhook_url(u, true), std::nullopt) << u << " is accepted with allow_private=true";
  }
}

TEST(webhook_url, host_names_are_checked_at_delivery) {
  // No DNS at registration: a name's addresses may change; each delivery checks them.
  EXPECT_EQ(refuse_webhook_url("http://localhost:9000/", false), std::nullopt);
}

TEST(webhook_url, malformed_or_dangerous_refused_always) {
  for (bool allow_private : {false, true})
    for (const char* u : {"http://example.org/a\r\nX-Injected: 1", "http://example.org/a\nb", "http://example.org/a b",
                          "http://example.org/%0d%0aX-Injected:%201", "http://example.org/%0A", "http://example.org/%7f",
                          "http://example.org/%zz", "http://example.org/%4", "http://exa\tmple.org/",
                          "http://user:pass@example.org/", "http://user@example.org/", "http://@example.org/",
                          "ftp://example.org/", "file:///etc/passwd", "gopher://example.org/", "javascript:alert(1)",
                          "HTTP://example.org/", "//example.org/", "example.org", "http:///path", "http://",
                          "http://example.org:0/", "http://example.org:65536/", "http://example.org:/",
                          "http://example.org:8o/", "http://[::1/", "http://[::1]x/", "http://[10.0.0.1]/",
                          "http://[fe80::1%25eth0]/", "http://exa_mple.org/", "http://-example.org/",
                          "http://example-.org/", "http://example..org/", "http://example.org/#frag",
                          "http://example.org/\x7f", "http://example.org/\xc3\xa9", "http://example.org?x=1"}) {
      std::string s(u);
      EXPECT_TRUE(refuse_webhook_url(s, allow_private)) << u;
    }
  EXPECT_TRUE(refuse_webhook_url(std::string("http://example.org/") + std::string(2100, 'a'), true));
  EXPECT_TRUE(refuse_webhook_url(std::string("http://example.org/a\0b", 22), true)) << "a NUL byte";
}

TEST(webhook_destination, every_resolved_address_must_be_public) {
  EXPECT_EQ(refuse_destination("hooks.example.org", {"93.184.216.34", "2606:2800:220:1::1"}), std::nullopt);
  auto why = refuse_destination("localhost", {"127.0.0.1"});
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "refused: localhost resolves to 127.0.0.1, in 127.0.0.0/8 (loopback) (webhooks.allow_private is false)");
  EXPECT_TRUE(refuse_destination("rebind.example", {"93.184.216.34", "10.1.2.3"})) << "one private address is enough";
  EXPECT_TRUE(refuse_destination("nat64.example", {"64:ff9b::a9fe:a9fe"})) << "169.254.169.254 through NAT64";
  EXPECT_TRUE(refuse_destination("nothing.example", {}));
}

}  // namespace
