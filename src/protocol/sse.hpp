// sse.hpp — the contract's messages as Server-Sent Events (SPEC: the SSE transport): the lines
// around an envelope, the stream's preamble, the heartbeat, the Last-Event-ID rule. Pure text.
#pragma once

#include "protocol/errors.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dh::protocol {

// What goes before an envelope: `event: <type>` and, for a message that carries event ids, `id:`
// with the last of them, then `data: `. The envelope (one line of JSON) and "\n\n" follow.
std::string sse_event_head(std::string_view type, std::uint64_t event_id);
inline constexpr std::string_view sse_event_tail = "\n\n";

// The first bytes of a stream: how long the browser waits before it reconnects.
std::string sse_preamble(std::chrono::milliseconds retry);

// A comment line: proxies see bytes and keep the stream open; EventSource ignores it.
inline constexpr std::string_view sse_heartbeat = ": heartbeat\n\n";

// The resume point of a stream request: the Last-Event-ID header (EventSource's own reconnect)
// wins over ?lastEventId= (the first connect). `headers` are the values of every Last-Event-ID
// field; more than one, or one that is not decimal digits, is INVALID_MESSAGE. An empty header
// means no resume point, as the SSE standard resets the id with an empty `id:`.
boost::system::result<std::optional<std::uint64_t>, failure> sse_resume_point(const std::vector<std::string_view>& headers,
                                                                              std::optional<std::string_view> query);

}  // namespace dh::protocol
