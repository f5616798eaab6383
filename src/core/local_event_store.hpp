// local_event_store.hpp — the event store of one process: a blocking store (SQLite, or memory)
// on its own thread, waiting batches grouped into one transaction, each committed group
// published on the bus from that thread, in commit order.
#pragma once

#include "core/bus.hpp"
#include "core/event_store.hpp"
#include "core/ingest_queue.hpp"
#include "core/store.hpp"

#include <boost/asio/any_io_executor.hpp>

namespace dh::core {

class local_event_store final : public event_store {
 public:
  // `store_executor` must be one thread: it serialises every call of `backend` and the publishes.
  local_event_store(store& backend, boost::asio::any_io_executor store_executor, local_bus& committed_to);

  boost::asio::awaitable<std::shared_ptr<const apply_result>> apply(std::vector<protocol::task_event> events,
                                                                    wall_time now) override;
  bool available() const noexcept override { return backend_.available(); }
  store_report report() const override { return backend_.report(); }
  boost::asio::awaitable<user_stats> stats(std::string user) override;
  boost::asio::awaitable<history_page> history(std::string user, std::uint64_t after, std::size_t limit,
                                               wall_time now) override;

 private:
  store& backend_;
  boost::asio::any_io_executor executor_;
  ingest_queue queue_;
};

}  // namespace dh::core
