// sse_request_fuzz.cpp — libFuzzer target: the Server-Sent Events path. A stream request for
// user 1 with a valid token is begun; the input is the rest of its target (?lastEventId= and
// more) and its headers (Last-Event-ID, Authorization, Origin, ...) and whatever follows, through
// the routes, the resume rule, admission and the stream until the client hangs up.
#include "connection.hpp"

#include "protocol/jwt.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const std::string& request_start() {
  static const std::string start = [] {
    // exp in 2100: the stream outlives any fuzzing run.
    const boost::json::object claims{{"sub", "1"}, {"exp", 4'102'444'800}};
    auto token = dh::protocol::mint_token(dh::protocol::jwt_alg::hs256, dh::fuzz::jwt_secret, claims);
    if (!token) std::abort();
    return "GET /sse/dashboard/1?token=" + *token;
  }();
  return start;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One send, not a prefix: run_connection waits for an answer to its prefix, and half a request has none.
  std::string request = request_start();
  request.append(reinterpret_cast<const char*>(data), size);
  dh::fuzz::run_connection({}, request);
  return 0;
}
