// ws_session_fuzz.cpp — libFuzzer target: the WebSocket frame path of a session. A valid upgrade
// for user 1 is sent first; the input is the frames that follow (masked, fragmented, control
// frames, text and binary, as any client may send), through Beast and the session's handlers.
#include "connection.hpp"

#include "protocol/jwt.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const std::string& upgrade_request() {
  static const std::string request = [] {
    // exp in 2100: the session outlives any fuzzing run.
    const boost::json::object claims{{"sub", "1"}, {"exp", 4'102'444'800}};
    auto token = dh::protocol::mint_token(dh::protocol::jwt_alg::hs256, dh::fuzz::jwt_secret, claims);
    if (!token) std::abort();
    return "GET /ws/dashboard/1?token=" + *token +
           " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }();
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dh::fuzz::run_connection(upgrade_request(), {reinterpret_cast<const char*>(data), size});
  return 0;
}
