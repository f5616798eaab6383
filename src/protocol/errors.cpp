#include "protocol/errors.hpp"

#include <array>

namespace dh::protocol {
namespace {

// Indexed by errc - 1; the order must follow the enum.
constexpr std::array<error_info, 12> table{{
    {"AUTH_INVALID", 4001, "Invalid authentication token"},
    {"AUTH_EXPIRED", 4002, "Authentication token has expired. Please reconnect with a new token."},
    {"USER_NOT_FOUND", 4004, "User not found"},
    {"CONNECTION_LIMIT", 4008, "Too many connections for this user"},
    {"RATE_LIMITED", 4029, "Too many messages"},
    {"INVALID_MESSAGE", 1008, "Invalid message"},
    {"INVALID_MESSAGE", 1007, "Message is not valid UTF-8"},
    {"INVALID_MESSAGE", 1009, "Message too big"},
    {"SUBSCRIPTION_FAILED", 0, "Subscription failed"},
    {"SLOW_CONSUMER", 4013, "Client is not keeping up; reconnect with lastEventId"},
    {"IDLE_TIMEOUT", 4000, "Connection idle for too long"},
    {"INTERNAL_ERROR", 1011, "Internal server error"},
}};

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dashboard-hub"; }
  std::string message(int ev) const override {
    if (ev < 1 || ev > static_cast<int>(table.size())) return "unknown error";
    return std::string(table[static_cast<std::size_t>(ev - 1)].default_message);
  }
};

}  // namespace

const error_info& info(errc e) noexcept { return table[static_cast<std::size_t>(e) - 1]; }

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace dh::protocol
