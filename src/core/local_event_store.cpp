#include "core/local_event_store.hpp"

#include "core/blocking.hpp"

namespace dh::core {

namespace asio = boost::asio;

local_event_store::local_event_store(store& backend, asio::any_io_executor store_executor, local_bus& committed_to)
    : backend_(backend),
      executor_(store_executor),
      // Durable first, then fan-out: each committed group goes to the bus from the store thread.
      queue_(backend, std::move(store_executor), [&committed_to](bus::batch b) { committed_to.publish(std::move(b)); }) {}

asio::awaitable<std::shared_ptr<const apply_result>> local_event_store::apply(std::vector<protocol::task_event> events,
                                                                                wall_time now) {
  co_return co_await queue_.apply(std::move(events), now);
}

asio::awaitable<user_stats> local_event_store::stats(std::string user) {
  co_return co_await run_blocking(executor_, [this, &user] { return backend_.stats(user); });
}

asio::awaitable<history_page> local_event_store::history(std::string user, std::uint64_t after, std::size_t limit,
                                                         wall_time now) {
  co_return co_await run_blocking(executor_, [this, &user, after, limit, now] {
    return backend_.history(user, after, limit, now);
  });
}

}  // namespace dh::core
