// jwt_fuzz.cpp — libFuzzer target: the JWT front door. The first byte picks the mode:
//   even: the rest is a token as a client sends it (parsing up to and through the signature check);
//   odd:  the rest is "header JSON \n claims JSON", signed here with the verifier's own secret,
//         so the claims checks after a valid signature (exp, nbf, iat, iss, aud, sub) are reached.
// Either way the verdict is a verified subject, AUTH_INVALID or AUTH_EXPIRED; never a crash.
#include "protocol/errors.hpp"
#include "protocol/jwt.hpp"
#include "protocol/user_id.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view secret = "fuzz-secret-fuzz-secret-fuzz-secret!";

std::string base64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (const unsigned char c : bytes) {
    bits = (bits << 8) | c;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(alphabet[(bits >> held) & 0x3f]);
    }
  }
  if (held > 0) out.push_back(alphabet[(bits << (6 - held)) & 0x3f]);
  return out;
}

std::string signed_token(std::string_view header, std::string_view claims) {
  std::string token = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(token.data()),
       token.size(), mac, &length);
  return token + "." + base64url({reinterpret_cast<const char*>(mac), length});
}

const dh::protocol::jwt_verifier& verifier() {
  static const auto v = [] {
    dh::protocol::jwt_settings s;
    s.key = std::string(secret);
    s.audience = "dashboard";  // so the aud paths run too
    auto created = dh::protocol::jwt_verifier::create(s);
    if (!created) std::abort();
    return std::move(*created);
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string token;
  if (data[0] % 2 == 0) {
    token = rest;
  } else {
    const auto split = rest.find('\n');
    if (split == std::string_view::npos) return 0;
    token = signed_token(rest.substr(0, split), rest.substr(split + 1));
  }
  // A fixed clock: the same input takes the same path on every run.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600));
  const auto verdict = verifier().verify(token, now);
  using dh::protocol::errc;
  if (verdict) {
    if (!dh::protocol::is_valid_user_id(verdict->subject)) std::abort();
  } else if (verdict.error().code != errc::auth_invalid && verdict.error().code != errc::auth_expired) {
    std::abort();
  }
  return 0;
}
