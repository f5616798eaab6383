// client_message_fuzz.cpp — libFuzzer target: one WebSocket text frame through the client
// message decoder (SPEC §1). Any input must decode or fail with INVALID_MESSAGE; never crash.
#include "protocol/errors.hpp"
#include "protocol/messages.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace {

// What the session relies on after a successful decode (ws_session's handlers).
void check(const dh::protocol::client_message& m) {
  using namespace dh::protocol;
  if (const auto* a = std::get_if<ack>(&m); a != nullptr && a->ids.empty()) std::abort();  // max_element needs one
  // A userId that is a string but no valid id ("" too) is well typed: the session answers it with
  // SUBSCRIPTION_FAILED (another user's dashboard), so the decoder need not refuse it.
  if (type_name(m).empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = dh::protocol::decode_client_message(text);
  if (decoded) {
    check(*decoded);
  } else if (decoded.error().code != dh::protocol::errc::invalid_message) {
    std::abort();  // the contract's only verdict for a bad client message
  }
  return 0;
}
