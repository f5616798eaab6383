// errors.hpp — the contract's error codes (SPEC §2) as one enum and one table: the wire code
// string and the WebSocket close code of each. Pure data; no I/O, no Asio.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace dh::protocol {

enum class errc {
  auth_invalid = 1,
  auth_expired,
  user_not_found,
  connection_limit,
  rate_limited,
  invalid_message,
  invalid_utf8,
  message_too_big,
  subscription_failed,
  slow_consumer,
  idle_timeout,
  internal_error,
};

// Close code 0 means "the connection stays open" (SUBSCRIPTION_FAILED).
struct error_info {
  std::string_view code;   // as sent in the error payload, e.g. "AUTH_INVALID"
  std::uint16_t close_code;
  std::string_view default_message;
};

const error_info& info(errc e) noexcept;

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// A contract failure with the context a client needs; returned as a value, never thrown.
struct failure {
  errc code;
  std::string message;       // human-readable; never contains secrets or tokens
  std::string request_type;  // the client message type that failed, when known
};

}  // namespace dh::protocol

template <>
struct std::is_error_code_enum<dh::protocol::errc> : std::true_type {};
