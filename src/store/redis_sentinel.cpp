#include "store/redis_sentinel.hpp"

#include "core/store.hpp"

#include <fmt/format.h>

#include <charconv>

namespace dh::store {

namespace asio = boost::asio;

redis_sentinel::redis_sentinel(asio::any_io_executor executor, std::vector<redis_endpoint> sentinels, std::string master,
                               const core::logger& log, redis_timing timing)
    : master_(std::move(master)), log_(log) {
  // A sentinel that is down must not hold up asking the next one for long.
  timing.connect_timeout = std::min(timing.connect_timeout, std::chrono::milliseconds(500));
  for (std::size_t i = 0; i < sentinels.size(); ++i)
    sentinels_.push_back(std::make_unique<redis_client>(executor, std::move(sentinels[i]), fmt::format("sentinel-{}", i + 1),
                                                        log, timing));
}

void redis_sentinel::start() {
  for (auto& s : sentinels_) s->start();
}

void redis_sentinel::stop() {
  for (auto& s : sentinels_) s->stop();
}

asio::awaitable<std::optional<redis_endpoint>> redis_sentinel::locate() {
  for (std::size_t n = 0; n < sentinels_.size(); ++n) {
    const auto i = (first_ + n) % sentinels_.size();
    auto& sentinel = *sentinels_[i];
    if (!sentinel.up()) continue;
    redis_reply reply;
    try {
      std::vector<std::string> ask{"SENTINEL", "get-master-addr-by-name", master_};
      reply = co_await sentinel.command(std::move(ask));
    } catch (const core::store_unavailable&) {
      continue;  // it went away meanwhile: the next one
    }
    if (reply.is_error()) {
      log_.warn("redis sentinel-{}: SENTINEL get-master-addr-by-name {}: {}", i + 1, master_, reply.text);
      continue;
    }
    if (reply.elements.size() != 2) {
      log_.warn("redis sentinel-{}: it does not know a master named {}", i + 1, master_);
      continue;
    }
    unsigned port = 0;
    const auto& digits = reply.elements[1].text;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) continue;
    first_ = i;
    redis_endpoint found;
    found.host = reply.elements[0].text;
    found.port = static_cast<std::uint16_t>(port);
    co_return found;
  }
  log_.debug("redis: no sentinel could name the master {} now", master_);
  co_return std::nullopt;
}

}  // namespace dh::store
