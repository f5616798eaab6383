// transport.hpp — the two ways a client session reaches a browser, as the metrics, the log and
// /status name them. WebSocket: the client speaks too; SSE: the client only reads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace dh::core {

enum class transport : std::uint8_t { websocket, sse };
inline constexpr std::array<std::string_view, 2> transport_names{"ws", "sse"};
inline constexpr std::string_view transport_name(transport t) { return transport_names[static_cast<std::size_t>(t)]; }

}  // namespace dh::core
