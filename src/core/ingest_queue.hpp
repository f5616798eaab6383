// ingest_queue.hpp — group commit: ingest batches that arrive while the store is busy wait and
// then go into one store transaction together, so a burst of requests costs one commit.
#pragma once

#include "core/store.hpp"
#include "protocol/task_event.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace dh::core {

class ingest_queue {
 public:
  using committed_fn = std::function<void(std::shared_ptr<const apply_result>)>;

  // `on_commit` runs on the store executor after each transaction, in commit order, with the
  // whole group's result: the fan-out (hub::publish) sees events in the order they were stored.
  ingest_queue(store& s, boost::asio::any_io_executor store_executor, committed_fn on_commit);

  // Stores `events` in the next transaction, together with every batch waiting by then, and
  // returns this batch's part of the result. Throws store_error when that transaction fails;
  // then nothing of any batch in it was applied.
  boost::asio::awaitable<std::shared_ptr<const apply_result>> apply(std::vector<protocol::task_event> events,
                                                                    wall_time now);

 private:
  using done_fn = boost::asio::any_completion_handler<void(std::exception_ptr, std::shared_ptr<const apply_result>)>;
  struct waiting {
    std::vector<protocol::task_event> events;
    wall_time now;
    done_fn done;
  };

  void enqueue(waiting w);
  void drain();  // on the store executor: one group, then the next if more arrived meanwhile
  void commit(std::vector<waiting>& group);

  store& store_;
  boost::asio::any_io_executor store_executor_;
  committed_fn on_commit_;
  std::mutex mutex_;  // guards queue_ and draining_; never held across the store's work
  std::vector<waiting> queue_;
  bool draining_ = false;
};

}  // namespace dh::core
