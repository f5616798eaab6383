// connection.hpp — one client connection's bytes through the real server: HTTP parsing, the
// routes, ingest, the upgrade and the WebSocket session, over a socket pair (no listener, no network).
#pragma once

#include <string_view>

namespace dh::fuzz {

// The HS256 secret the seeds' tokens are signed with, and the key their ingest requests carry.
inline constexpr std::string_view jwt_secret = "fuzz-secret-fuzz-secret-fuzz-secret!";
inline constexpr std::string_view ingest_key = "fuzz-ingest-key";

// Sends `prefix` and then `bytes` as one client would, half-closes, reads everything the server
// answers until it hangs up, and returns once the server holds no session for it. A hang is the
// fuzzer's timeout; a crash, a leak or a sanitizer report is a finding.
void run_connection(std::string_view prefix, std::string_view bytes);

}  // namespace dh::fuzz
