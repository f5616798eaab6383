// protocol_jwt_test.cpp — JWT verification per SPEC §2: the accept/reject matrix for HS256, RS256
// and ES256 against a fixed `now`, claim rules, subjects, malformed tokens and key checks.
#include "protocol/jwt.hpp"
#include "support/paths.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace protocol_jwt_test {  // unity builds compile several test files as one unit

namespace json = boost::json;
using namespace dh::protocol;
using std::chrono::system_clock;

namespace {

const system_clock::time_point fixed_now =
    std::chrono::sys_days{std::chrono::year{2026} / 1 / 3} + std::chrono::hours{10} + std::chrono::minutes{30};
const std::int64_t now_sec =
    std::chrono::duration_cast<std::chrono::seconds>(fixed_now.time_since_epoch()).count();

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
const std::string other_secret = "fedcba9876543210fedcba9876543210-other-secret";

std::string read_key(std::string_view name) {
  const std::string path = std::string(dh::test::test_data_dir) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string base64url(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

// Valid for an hour around fixed_now, for user "user-456".
json::object good_claims() {
  return {{"sub", "user-456"}, {"iat", now_sec - 60}, {"exp", now_sec + 3600}};
}

std::string mint(jwt_alg alg, std::string_view key, const json::object& claims) {
  auto token = mint_token(alg, key, claims);
  REQUIRE_MESSAGE(token.has_value(), (token ? std::string() : token.error().message));
  return *token;
}

jwt_verifier make_verifier(jwt_alg alg, std::string key, std::string issuer = {}, std::string audience = {}) {
  auto v = jwt_verifier::create({alg, std::move(key), std::move(issuer), std::move(audience), std::chrono::seconds{30}});
  REQUIRE_MESSAGE(v.has_value(), (v ? std::string() : v.error()));
  return *v;
}

bool creates(jwt_alg alg, std::string key, std::chrono::seconds leeway = std::chrono::seconds{30}) {
  return jwt_verifier::create({alg, std::move(key), {}, {}, leeway}).has_value();
}

jwt_verifier hs_verifier() { return make_verifier(jwt_alg::hs256, secret); }

// The subject of an accepted token, or "<rejected: reason>" so the caller's CHECK fails.
std::string accepted_subject(const jwt_verifier& v, std::string_view token) {
  auto r = v.verify(token, fixed_now);
  if (!r) return "<rejected: " + r.error().message + ">";
  return r->subject;
}

// The error code of a rejected token; an accepted one fails the test and returns errc{}.
errc rejection(const jwt_verifier& v, std::string_view token) {
  auto r = v.verify(token, fixed_now);
  if (r) {
    FAIL_CHECK("unexpectedly accepted for subject " << r->subject);
    return errc{};
  }
  CHECK_FALSE(r.error().message.empty());
  // The reason is shown to clients and logged: it must never echo the token.
  if (token.size() > 8) CHECK(r.error().message.find(token) == std::string::npos);
  return r.error().code;
}

std::string hand_built(const json::object& header, const json::object& claims, std::string_view signature = {}) {
  return base64url(json::serialize(header)) + "." + base64url(json::serialize(claims)) + "." + std::string(signature);
}

}  // namespace

TEST_CASE("jwt accepts a well-formed token for each algorithm") {
  SUBCASE("HS256") {
    const auto token = mint(jwt_alg::hs256, secret, good_claims());
    const auto r = hs_verifier().verify(token, fixed_now);
    REQUIRE(r.has_value());
    CHECK(r->subject == "user-456");
    CHECK(r->expires_at == system_clock::time_point{std::chrono::seconds{now_sec + 3600}});
  }
  SUBCASE("RS256") {
    const auto token = mint(jwt_alg::rs256, read_key("rsa_private.pem"), good_claims());
    CHECK(accepted_subject(make_verifier(jwt_alg::rs256, read_key("rsa_public.pem")), token) == "user-456");
  }
  SUBCASE("ES256") {
    const auto token = mint(jwt_alg::es256, read_key("ec_private.pem"), good_claims());
    CHECK(accepted_subject(make_verifier(jwt_alg::es256, read_key("ec_public.pem")), token) == "user-456");
  }
}

TEST_CASE("jwt rejects a token signed with the wrong key") {
  SUBCASE("HS256 with another secret") {
    const auto token = mint(jwt_alg::hs256, other_secret, good_claims());
    CHECK(rejection(hs_verifier(), token) == errc::auth_invalid);
  }
  SUBCASE("RS256 signed by another RSA key") {
    const auto token = mint(jwt_alg::rs256, read_key("rsa_other_private.pem"), good_claims());
    CHECK(rejection(make_verifier(jwt_alg::rs256, read_key("rsa_public.pem")), token) == errc::auth_invalid);
  }
  SUBCASE("claims swapped after signing") {
    const auto token = mint(jwt_alg::hs256, secret, good_claims());
    auto forged_claims = good_claims();
    forged_claims["sub"] = "admin";
    const auto first_dot = token.find('.');
    const auto second_dot = token.find('.', first_dot + 1);
    const auto forged = token.substr(0, first_dot + 1) + base64url(json::serialize(forged_claims)) +
                        token.substr(second_dot);
    CHECK(rejection(hs_verifier(), forged) == errc::auth_invalid);
  }
}

TEST_CASE("jwt pins the algorithm to the configured key") {
  SUBCASE("HS256 token to an RS256 verifier") {
    const auto token = mint(jwt_alg::hs256, secret, good_claims());
    CHECK(rejection(make_verifier(jwt_alg::rs256, read_key("rsa_public.pem")), token) == errc::auth_invalid);
  }
  SUBCASE("HS256 token signed with the RSA public key text as the secret (alg confusion)") {
    const auto public_pem = read_key("rsa_public.pem");
    const auto token = mint(jwt_alg::hs256, public_pem, good_claims());
    CHECK(rejection(make_verifier(jwt_alg::rs256, public_pem), token) == errc::auth_invalid);
  }
  SUBCASE("HS256 token signed with the EC public key text as the secret") {
    const auto public_pem = read_key("ec_public.pem");
    const auto token = mint(jwt_alg::hs256, public_pem, good_claims());
    CHECK(rejection(make_verifier(jwt_alg::es256, public_pem), token) == errc::auth_invalid);
  }
  SUBCASE("RS256 token to an ES256 verifier") {
    const auto token = mint(jwt_alg::rs256, read_key("rsa_private.pem"), good_claims());
    CHECK(rejection(make_verifier(jwt_alg::es256, read_key("ec_public.pem")), token) == errc::auth_invalid);
  }
  SUBCASE("ES256 token to an RS256 verifier") {
    const auto token = mint(jwt_alg::es256, read_key("ec_private.pem"), good_claims());
    CHECK(rejection(make_verifier(jwt_alg::rs256, read_key("rsa_public.pem")), token) == errc::auth_invalid);
  }
  SUBCASE("RS256 token to an HS256 verifier") {
    const auto token = mint(jwt_alg::rs256, read_key("rsa_private.pem"), good_claims());
    CHECK(rejection(hs_verifier(), token) == errc::auth_invalid);
  }
}

TEST_CASE("jwt always rejects alg none") {
  const auto unsigned_token = hand_built({{"alg", "none"}, {"typ", "JWT"}}, good_claims());
  REQUIRE(unsigned_token.back() == '.');
  CHECK(rejection(hs_verifier(), unsigned_token) == errc::auth_invalid);
  CHECK(rejection(make_verifier(jwt_alg::rs256, read_key("rsa_public.pem")), unsigned_token) == errc::auth_invalid);
  CHECK(rejection(make_verifier(jwt_alg::es256, read_key("ec_public.pem")), unsigned_token) == errc::auth_invalid);
  SUBCASE("other spellings") {
    CHECK(rejection(hs_verifier(), hand_built({{"alg", "None"}}, good_claims())) == errc::auth_invalid);
    CHECK(rejection(hs_verifier(), hand_built({{"alg", "NONE"}}, good_claims())) == errc::auth_invalid);
  }
  SUBCASE("HS256 header with an empty signature") {
    CHECK(rejection(hs_verifier(), hand_built({{"alg", "HS256"}, {"typ", "JWT"}}, good_claims())) ==
          errc::auth_invalid);
  }
}

TEST_CASE("jwt time claims") {
  const auto v = hs_verifier();  // leeway 30 s
  SUBCASE("missing exp") {
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}})) == errc::auth_invalid);
  }
  SUBCASE("exp that is not a number") {
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", "tomorrow"}})) ==
          errc::auth_invalid);
  }
  SUBCASE("expired beyond the leeway") {
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", now_sec - 31}})) ==
          errc::auth_expired);
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", now_sec - 86400}})) ==
          errc::auth_expired);
  }
  SUBCASE("expired within the leeway") {
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", now_sec - 10}})) ==
          "user-456");
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", now_sec - 30}})) ==
          "user-456");
  }
  SUBCASE("zero leeway is strict") {
    auto strict = jwt_verifier::create({jwt_alg::hs256, secret, {}, {}, std::chrono::seconds{0}});
    REQUIRE(strict.has_value());
    CHECK(rejection(*strict, mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", now_sec - 1}})) ==
          errc::auth_expired);
  }
  SUBCASE("fractional exp") {
    const double exp = static_cast<double>(now_sec) + 100.5;
    const auto r = v.verify(mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", exp}}), fixed_now);
    REQUIRE(r.has_value());
    CHECK(r->expires_at == system_clock::time_point{std::chrono::seconds{now_sec + 100}} + std::chrono::milliseconds{500});
  }
  SUBCASE("nbf in the future") {
    auto claims = good_claims();
    claims["nbf"] = now_sec + 60;
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
  }
  SUBCASE("nbf within the leeway") {
    auto claims = good_claims();
    claims["nbf"] = now_sec + 20;
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, claims)) == "user-456");
  }
  SUBCASE("nbf not a number") {
    auto claims = good_claims();
    claims["nbf"] = "soon";
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
  }
  SUBCASE("iat in the future") {
    auto claims = good_claims();
    claims["iat"] = now_sec + 120;
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
  }
  SUBCASE("iat in the past") {
    auto claims = good_claims();
    claims["iat"] = now_sec - 86400;
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, claims)) == "user-456");
  }
}

TEST_CASE("jwt accepts an exp far in the future") {
  // Long-lived service tokens commonly use exp = 9999999999 (the year 2286).
  const auto r = hs_verifier().verify(mint(jwt_alg::hs256, secret, {{"sub", "user-456"}, {"exp", 9999999999}}),
                                      fixed_now);
  REQUIRE_MESSAGE(r.has_value(), "rejected: " << (r ? std::string() : r.error().message));
  CHECK(r->expires_at > fixed_now + std::chrono::hours{24 * 365 * 100});
}

TEST_CASE("jwt rejects an nbf far in the future") {
  // Same range as above: a token not valid before 2286 must not be valid now.
  auto claims = good_claims();
  claims["nbf"] = 9999999999;
  CHECK(rejection(hs_verifier(), mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
}

TEST_CASE("jwt issuer and audience") {
  SUBCASE("issuer") {
    const auto v = make_verifier(jwt_alg::hs256, secret, "dashboard-auth");
    auto claims = good_claims();
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);  // missing
    claims["iss"] = "someone-else";
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
    claims["iss"] = 42;
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
    claims["iss"] = "dashboard-auth";
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, claims)) == "user-456");
  }
  SUBCASE("issuer is not checked when not configured") {
    auto claims = good_claims();
    claims["iss"] = "anyone";
    CHECK(accepted_subject(hs_verifier(), mint(jwt_alg::hs256, secret, claims)) == "user-456");
  }
  SUBCASE("audience") {
    const auto v = make_verifier(jwt_alg::hs256, secret, {}, "dashboard");
    auto claims = good_claims();
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);  // missing
    claims["aud"] = "billing";
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
    claims["aud"] = json::array{"billing", "reports"};
    CHECK(rejection(v, mint(jwt_alg::hs256, secret, claims)) == errc::auth_invalid);
    claims["aud"] = "dashboard";
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, claims)) == "user-456");
    claims["aud"] = json::array{"billing", "dashboard"};
    CHECK(accepted_subject(v, mint(jwt_alg::hs256, secret, claims)) == "user-456");
  }
}

TEST_CASE("jwt subject") {
  const auto v = hs_verifier();
  const auto with = [](json::object extra) {
    json::object claims{{"exp", now_sec + 3600}};
    for (auto& [k, val] : extra) claims[k] = val;
    return mint(jwt_alg::hs256, secret, claims);
  };
  SUBCASE("sub as a string") { CHECK(accepted_subject(v, with({{"sub", "user-456"}})) == "user-456"); }
  SUBCASE("sub as a number") { CHECK(accepted_subject(v, with({{"sub", 123}})) == "123"); }
  SUBCASE("userId") { CHECK(accepted_subject(v, with({{"userId", 7}})) == "7"); }
  SUBCASE("user_id") { CHECK(accepted_subject(v, with({{"user_id", "abc.def"}})) == "abc.def"); }
  SUBCASE("sub takes precedence") {
    CHECK(accepted_subject(v, with({{"sub", "first"}, {"userId", "second"}, {"user_id", "third"}})) == "first");
  }
  SUBCASE("missing subject") { CHECK(rejection(v, with({{"name", "Ada"}})) == errc::auth_invalid); }
  SUBCASE("empty subject") { CHECK(rejection(v, with({{"sub", ""}})) == errc::auth_invalid); }
  SUBCASE("subject outside the id alphabet") {
    CHECK(rejection(v, with({{"sub", "a b"}})) == errc::auth_invalid);
    CHECK(rejection(v, with({{"sub", "../etc"}})) == errc::auth_invalid);
  }
  SUBCASE("subject too long") { CHECK(rejection(v, with({{"sub", std::string(65, 'a')}})) == errc::auth_invalid); }
  SUBCASE("negative numeric subject") { CHECK(rejection(v, with({{"sub", -5}})) == errc::auth_invalid); }
  SUBCASE("boolean subject") { CHECK(rejection(v, with({{"userId", true}})) == errc::auth_invalid); }
}

TEST_CASE("jwt rejects malformed tokens") {
  const auto v = hs_verifier();
  const auto good = mint(jwt_alg::hs256, secret, good_claims());
  const std::string malformed[] = {
      "",
      "abc",
      "a.b",
      "a.b.c",
      "..",
      "!!!.@@@.###",
      "eyJhbGciOiJIUzI1NiJ9.%%%%.abc",
      base64url("not json") + "." + base64url("{}") + ".",
      base64url(R"({"alg":42})") + "." + base64url("{}") + ".",
      base64url(R"({"typ":"JWT"})") + "." + base64url("{}") + ".",
      good.substr(0, good.size() - 5),
      good + "x",
      good + ".extra",
      std::string(9000, 'a'),
  };
  for (const auto& token : malformed) {
    CAPTURE(token.substr(0, 80));
    CHECK(rejection(v, token) == errc::auth_invalid);
  }
}

TEST_CASE("jwt_verifier::create checks the key") {
  SUBCASE("HS256 secret length") {
    CHECK_FALSE(creates(jwt_alg::hs256, std::string(31, 's')));
    CHECK(creates(jwt_alg::hs256, std::string(32, 's')));
    const auto empty = jwt_verifier::create({jwt_alg::hs256, "", {}, {}, std::chrono::seconds{30}});
    REQUIRE_FALSE(empty.has_value());
    CHECK_FALSE(empty.error().empty());
  }
  SUBCASE("the error for a short secret does not echo it") {
    const std::string short_secret = "hunter2-hunter2";
    const auto r = jwt_verifier::create({jwt_alg::hs256, short_secret, {}, {}, std::chrono::seconds{30}});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find(short_secret) == std::string::npos);
  }
  SUBCASE("negative leeway") {
    CHECK_FALSE(creates(jwt_alg::hs256, secret, std::chrono::seconds{-1}));
  }
  SUBCASE("public key that does not match the alg") {
    CHECK_FALSE(creates(jwt_alg::rs256, read_key("ec_public.pem")));
    CHECK_FALSE(creates(jwt_alg::es256, read_key("rsa_public.pem")));
  }
  SUBCASE("garbage PEM") {
    const std::string garbage = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n";
    CHECK_FALSE(creates(jwt_alg::rs256, garbage));
    CHECK_FALSE(creates(jwt_alg::es256, "not a pem at all"));
  }
  SUBCASE("a private key is not a public key") {
    CHECK_FALSE(creates(jwt_alg::rs256, read_key("rsa_private.pem")));
  }
  SUBCASE("settings are kept") {
    const auto v = make_verifier(jwt_alg::rs256, read_key("rsa_public.pem"), "iss", "aud");
    CHECK(v.settings().alg == jwt_alg::rs256);
    CHECK(v.settings().issuer == "iss");
    CHECK(v.settings().audience == "aud");
  }
}

TEST_CASE("alg_for_public_key and alg_for_private_key") {
  const auto rsa = alg_for_public_key(read_key("rsa_public.pem"));
  REQUIRE(rsa.has_value());
  CHECK(*rsa == jwt_alg::rs256);
  const auto rsa_other = alg_for_public_key(read_key("rsa_other_public.pem"));
  REQUIRE(rsa_other.has_value());
  CHECK(*rsa_other == jwt_alg::rs256);
  const auto ec = alg_for_public_key(read_key("ec_public.pem"));
  REQUIRE(ec.has_value());
  CHECK(*ec == jwt_alg::es256);
  CHECK_FALSE(alg_for_public_key("garbage").has_value());
  CHECK_FALSE(alg_for_public_key("").has_value());

  const auto rsa_private = alg_for_private_key(read_key("rsa_private.pem"));
  REQUIRE(rsa_private.has_value());
  CHECK(*rsa_private == jwt_alg::rs256);
  const auto ec_private = alg_for_private_key(read_key("ec_private.pem"));
  REQUIRE(ec_private.has_value());
  CHECK(*ec_private == jwt_alg::es256);
  CHECK_FALSE(alg_for_private_key(read_key("rsa_public.pem")).has_value());
}

TEST_CASE("mint_token fails cleanly with an unusable key") {
  const auto r = mint_token(jwt_alg::rs256, "not a key", good_claims());
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(r.error().message.empty());
}

TEST_CASE("to_string names each alg") {
  CHECK(to_string(jwt_alg::hs256) == "HS256");
  CHECK(to_string(jwt_alg::rs256) == "RS256");
  CHECK(to_string(jwt_alg::es256) == "ES256");
}

}  // namespace protocol_jwt_test
