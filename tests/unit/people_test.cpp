// People, pure parts: account and sign-in validation (domain/people.hpp), the session cookie
// parser (api/router.hpp) and argon2id hashing through the bounded pool (services/people.hpp).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "maeul/api/router.hpp"
#include "maeul/domain/people.hpp"
#include "maeul/services/people.hpp"

namespace {

namespace d = maeul::domain;
namespace svc = maeul::services;
using nlohmann::json;

const svc::hash_params small{1, 8192 * 1024};

std::vector<std::string> pointers(const d::problem& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.pointer);
  return out;
}

TEST(people_validate, a_good_user) {
  auto u = d::validate_user(json{{"username", "mina.park"}, {"display_name", "박미나"}, {"role", "welfare_officer"},
                                 {"password", "열두글자비밀번호입니다요"}, {"zones", {"downtown"}}, {"domains", {"welfare"}}});
  ASSERT_TRUE(u.ok()) << u.error().describe();
  EXPECT_EQ(u->username, "mina.park");
  EXPECT_EQ(u->role, "welfare_officer");
  EXPECT_EQ(u->zones, std::vector<std::string>{"downtown"});
  EXPECT_EQ(u->domains, std::vector<std::string>{"welfare"});
}

TEST(people_validate, each_bad_field_is_pointed_at) {
  auto u = d::validate_user(json{{"username", "-x"}, {"display_name", ""}, {"role", "device"}, {"password", "elevenchars"},
                                 {"zones", {"ok", 3}}, {"domains", {"weather"}}, {"extra", 1}});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind, maeul::domain::problem_kind::invalid);
  auto p = pointers(u.error());
  for (const char* want : {"/username", "/display_name", "/role", "/password", "/zones/1", "/domains/0", "/extra"})
    EXPECT_NE(std::find(p.begin(), p.end(), want), p.end()) << want;
  EXPECT_EQ(std::find(p.begin(), p.end(), "/zones/0"), p.end());
}

TEST(people_validate, password_length_counts_characters_not_bytes) {
  EXPECT_EQ(d::utf8_length("비밀번호"), 4u);
  // 11 Hangul syllables are 33 bytes but 11 characters: too short.
  auto u = d::validate_user(json{{"username", "a"}, {"display_name", "A"}, {"role", "admin"}, {"password", "가나다라마바사아자차카"}});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(pointers(u.error()), std::vector<std::string>{"/password"});
}

TEST(people_validate, patch_takes_only_known_fields_and_something) {
  auto p = d::validate_user_patch(json{{"role", "analyst"}, {"disabled", true}, {"zones", json::array()}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->role, "analyst");
  EXPECT_TRUE(*p->disabled);
  EXPECT_TRUE(p->zones && p->zones->empty());
  EXPECT_FALSE(p->display_name);
  auto bad = d::validate_user_patch(json{{"username", "x"}, {"disabled", "yes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(pointers(bad.error()), (std::vector<std::string>{"/disabled", "/username"}));
  EXPECT_FALSE(d::validate_user_patch(json::object()).ok());
}

TEST(people_validate, sign_in_needs_two_strings) {
  EXPECT_TRUE(d::validate_sign_in(json{{"username", "a"}, {"password", "short"}}).ok());
  auto bad = d::validate_sign_in(json{{"username", 5}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(pointers(bad.error()), (std::vector<std::string>{"/username", "/password"}));
}

TEST(session_cookie, found_among_others) {
  EXPECT_EQ(maeul::api::session_cookie("a=1; maeul_session=ms_abc; b=2"), "ms_abc");
  EXPECT_EQ(maeul::api::session_cookie("maeul_session=ms_x"), "ms_x");
  EXPECT_EQ(maeul::api::session_cookie("xmaeul_session=ms_x; other=1"), "");
  EXPECT_EQ(maeul::api::session_cookie(""), "");
}

TEST(password_hasher, argon2id_round_trip_and_unique_salts) {
  auto a = svc::password_hasher::hash_now("correct horse battery", small);
  auto b = svc::password_hasher::hash_now("correct horse battery", small);
  EXPECT_EQ(a.rfind("$argon2id$v=19$m=8192,t=1,", 0), 0u) << a;
  EXPECT_NE(a, b);
  EXPECT_TRUE(svc::password_hasher::verify_now(a, "correct horse battery"));
  EXPECT_FALSE(svc::password_hasher::verify_now(a, "correct horse batterx"));
  EXPECT_FALSE(svc::password_hasher::verify_now("not a hash", "correct horse battery"));
}

TEST(password_hasher, the_pool_answers_and_a_full_queue_refuses) {
  svc::password_hasher h(small, 2, 1);
  EXPECT_EQ(h.dummy_hash().rfind("$argon2id$", 0), 0u);
  boost::asio::io_context ioc;
  std::optional<std::string> first;
  std::optional<std::optional<bool>> second;
  // Both start before either finishes: the second finds the queue (of 1) full.
  auto one = [&]() -> boost::asio::awaitable<void> { first = co_await h.hash("a password of twelve"); };
  auto two = [&]() -> boost::asio::awaitable<void> { second = co_await h.verify(h.dummy_hash(), "x"); };
  boost::asio::co_spawn(ioc, one(), boost::asio::detached);
  boost::asio::co_spawn(ioc, two(), boost::asio::detached);
  ioc.run();
  ASSERT_TRUE(first);
  EXPECT_TRUE(svc::password_hasher::verify_now(*first, "a password of twelve"));
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);  // refused, not answered
  EXPECT_EQ(h.overflowed(), 1);
  EXPECT_EQ(h.queued(), 0);
}

}  // namespace
