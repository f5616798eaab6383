// jwt.hpp — verifies and mints the JWTs that authenticate a WebSocket (SPEC §2): the alg is
// pinned to the configured key, claims are checked against a caller-given `now`. No sockets.
#pragma once

#include "protocol/errors.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace dh::protocol {

enum class jwt_alg { hs256, rs256, es256 };

std::string_view to_string(jwt_alg alg) noexcept;

struct jwt_settings {
  jwt_alg alg = jwt_alg::hs256;
  std::string key;       // the HS256 secret, or a PEM public key for RS256/ES256
  std::string issuer;    // required `iss` when not empty
  std::string audience;  // required in `aud` when not empty
  std::chrono::seconds leeway{30};
};

struct verified_token {
  std::string subject;  // from `sub`, `userId` or `user_id`, as canonical text
  std::chrono::system_clock::time_point expires_at;
};

class jwt_verifier {
 public:
  // Fails with a one-line reason when the key does not fit the alg.
  static boost::system::result<jwt_verifier, std::string> create(jwt_settings settings);

  // AUTH_EXPIRED when `exp` (plus leeway) has passed; AUTH_INVALID for every other fault.
  boost::system::result<verified_token, failure> verify(std::string_view token,
                                                        std::chrono::system_clock::time_point now) const;

  const jwt_settings& settings() const noexcept { return settings_; }

 private:
  explicit jwt_verifier(jwt_settings s) : settings_(std::move(s)) {}
  jwt_settings settings_;
};

// The alg a PEM public key is for (RSA → RS256, EC P-256 → ES256), or a one-line reason.
boost::system::result<jwt_alg, std::string> alg_for_public_key(std::string_view pem);
// Same for a PEM private key, used to mint RS256/ES256 tokens.
boost::system::result<jwt_alg, std::string> alg_for_private_key(std::string_view pem);

struct mint_error {
  mint_error() = default;
  explicit mint_error(std::string m) : message(std::move(m)) {}
  std::string message;
};

// Signs `claims` with `key` (HS256 secret or PEM private key). For tests and `dashboard-hub token`.
boost::system::result<std::string, mint_error> mint_token(jwt_alg alg, std::string_view key,
                                                           const boost::json::object& claims);

}  // namespace dh::protocol
