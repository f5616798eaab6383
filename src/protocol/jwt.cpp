#include "protocol/jwt.hpp"

#include "protocol/strict_json.hpp"
#include "protocol/user_id.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

namespace dh::protocol {
namespace json = boost::json;
using std::chrono::system_clock;

namespace {

struct jwt_deleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;
struct free_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using c_string = std::unique_ptr<char, free_deleter>;
struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

jwt_alg_t to_libjwt(jwt_alg alg) noexcept {
  switch (alg) {
    case jwt_alg::hs256: return JWT_ALG_HS256;
    case jwt_alg::rs256: return JWT_ALG_RS256;
    case jwt_alg::es256: return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

failure auth_invalid(std::string message) { return failure{errc::auth_invalid, std::move(message), {}}; }

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// libjwt 1.10 trusts the token's own `alg`; we read it first so a token can never pick its
// algorithm (e.g. HS256 signed with an RSA public key as the secret).
std::optional<std::string> header_alg(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto header = base64url_decode(token.substr(0, dot));
  if (!header) return std::nullopt;
  auto doc = parse_strict_json(*header);  // two `alg` members would let each reader pick its own
  if (!doc || !doc->is_object()) return std::nullopt;
  const auto* alg = doc->get_object().if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return std::nullopt;
  return std::string(alg->get_string());
}

// The claims segment, read strictly: libjwt would keep the last of two equal claims, so such a
// token is refused, as every other strict input. Used once the signature over it is checked.
std::optional<json::value> strict_claims(std::string_view token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto claims = base64url_decode(token.substr(first + 1, second - first - 1));
  if (!claims) return std::nullopt;
  auto doc = parse_strict_json(*claims);
  if (!doc) return std::nullopt;
  return std::move(*doc);
}

std::optional<double> numeric_claim(const json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double())) return v->get_double();
  return std::nullopt;
}

system_clock::time_point from_epoch(double seconds) {
  // system_clock counts nanoseconds in 64 bits (up to 2262); clamp so `exp: 9999999999` stays
  // far in the future instead of overflowing, with room left for leeway and deadline arithmetic.
  seconds = std::clamp(seconds, -7e9, 7e9);
  return system_clock::time_point{std::chrono::duration_cast<system_clock::duration>(std::chrono::duration<double>(seconds))};
}

bool audience_matches(const json::value& aud, std::string_view expected) {
  if (const auto* s = aud.if_string()) return *s == expected;
  if (const auto* arr = aud.if_array()) {
    for (const auto& v : *arr)
      if (v.is_string() && v.get_string() == expected) return true;
  }
  return false;
}

std::optional<std::string> subject_of(const json::object& claims) {
  for (const char* name : {"sub", "userId", "user_id"}) {
    if (const auto* v = claims.if_contains(name)) return user_id_from_json(*v);
  }
  return std::nullopt;
}

template <class Loader>
boost::system::result<jwt_alg, std::string> alg_for_key(std::string_view pem, Loader load, std::string_view what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return std::string("out of memory reading the key");
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(load(bio.get()));
  if (!key) return fmt::format("not a PEM {} key", what);
  switch (EVP_PKEY_base_id(key.get())) {
    case EVP_PKEY_RSA: return jwt_alg::rs256;
    case EVP_PKEY_EC:
      if (EVP_PKEY_get_bits(key.get()) != 256) return std::string("EC keys must use the P-256 curve (ES256)");
      return jwt_alg::es256;
    default: return fmt::format("unsupported {} key type (use RSA or EC P-256)", what);
  }
}

}  // namespace

std::string_view to_string(jwt_alg alg) noexcept {
  switch (alg) {
    case jwt_alg::hs256: return "HS256";
    case jwt_alg::rs256: return "RS256";
    case jwt_alg::es256: return "ES256";
  }
  return "?";
}

boost::system::result<jwt_alg, std::string> alg_for_public_key(std::string_view pem) {
  return alg_for_key(pem, [](BIO* b) { return PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr); }, "public");
}

boost::system::result<jwt_alg, std::string> alg_for_private_key(std::string_view pem) {
  return alg_for_key(pem, [](BIO* b) { return PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr); }, "private");
}

boost::system::result<jwt_verifier, std::string> jwt_verifier::create(jwt_settings s) {
  if (s.key.empty()) return std::string("no JWT key configured");
  if (s.leeway.count() < 0) return std::string("JWT leeway must not be negative");
  if (s.alg == jwt_alg::hs256) {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
    if (s.key.size() < 32) return std::string("the JWT secret must be at least 32 bytes");
  } else {
    auto alg = alg_for_public_key(s.key);
    if (!alg) return alg.error();
    if (*alg != s.alg) return fmt::format("the public key is for {}, not {}", to_string(*alg), to_string(s.alg));
  }
  return jwt_verifier(std::move(s));
}

boost::system::result<verified_token, failure> jwt_verifier::verify(std::string_view token,
                                                                   system_clock::time_point now) const {
  if (token.empty()) return auth_invalid("missing token");
  if (token.size() > 8192) return auth_invalid("token too long");
  const auto alg = header_alg(token);
  if (!alg) return auth_invalid("malformed token");
  const auto claims_doc = strict_claims(token);
  if (!claims_doc) return auth_invalid("token claims are not strict JSON");
  if (*alg != to_string(settings_.alg))
    return auth_invalid(fmt::format("token alg must be {}", to_string(settings_.alg)));

  const std::string token_text(token);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token_text.c_str(), reinterpret_cast<const unsigned char*>(settings_.key.data()),
                            static_cast<int>(settings_.key.size()));
  jwt_ptr decoded(raw);
  if (rc != 0 || !decoded) return auth_invalid("bad token signature or format");
  if (jwt_get_alg(decoded.get()) != to_libjwt(settings_.alg)) return auth_invalid("token alg mismatch");

  // The signature covers the very segment strict_claims read: no need for libjwt's copy of it.
  if (!claims_doc->is_object()) return auth_invalid("token claims are not a JSON object");
  const auto& claims = claims_doc->get_object();

  const auto leeway = std::chrono::duration_cast<system_clock::duration>(settings_.leeway);
  const auto exp = numeric_claim(claims, "exp");
  if (!exp) return auth_invalid("token has no numeric exp claim");
  const auto expires_at = from_epoch(*exp);
  if (now > expires_at + leeway) return failure{errc::auth_expired, "token has expired", {}};
  if (claims.contains("nbf")) {
    const auto nbf = numeric_claim(claims, "nbf");
    if (!nbf) return auth_invalid("token nbf claim is not a number");
    if (now + leeway < from_epoch(*nbf)) return auth_invalid("token is not valid yet (nbf)");
  }
  if (claims.contains("iat")) {
    const auto iat = numeric_claim(claims, "iat");
    if (!iat) return auth_invalid("token iat claim is not a number");
    if (now + leeway < from_epoch(*iat)) return auth_invalid("token was issued in the future (iat)");
  }
  if (!settings_.issuer.empty()) {
    const auto* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != settings_.issuer)
      return auth_invalid("token issuer mismatch");
  }
  if (!settings_.audience.empty()) {
    const auto* aud = claims.if_contains("aud");
    if (aud == nullptr || !audience_matches(*aud, settings_.audience)) return auth_invalid("token audience mismatch");
  }
  auto subject = subject_of(claims);
  if (!subject || !is_valid_user_id(*subject)) return auth_invalid("token has no valid subject (sub)");
  return verified_token{std::move(*subject), expires_at};
}

boost::system::result<std::string, mint_error> mint_token(jwt_alg alg, std::string_view key,
                                                           const json::object& claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return mint_error{"out of memory"};
  jwt_ptr token(raw);
  const auto claims_text = json::serialize(claims);
  if (jwt_add_grants_json(token.get(), claims_text.c_str()) != 0) return mint_error{"claims rejected by libjwt"};
  if (jwt_set_alg(token.get(), to_libjwt(alg), reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0)
    return mint_error{"key rejected by libjwt"};
  c_string encoded(jwt_encode_str(token.get()));
  if (!encoded) return mint_error{fmt::format("signing with {} failed (is the key a PEM private key?)", to_string(alg))};
  return boost::system::result<std::string, mint_error>(boost::system::in_place_value, encoded.get());
}

}  // namespace dh::protocol
