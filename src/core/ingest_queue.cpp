#include "core/ingest_queue.hpp"

#include "core/blocking.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dh::core {

namespace asio = boost::asio;

ingest_queue::ingest_queue(store& s, asio::any_io_executor store_executor, committed_fn on_commit)
    : store_(s), store_executor_(std::move(store_executor)), on_commit_(std::move(on_commit)) {}

asio::awaitable<std::shared_ptr<const apply_result>> ingest_queue::apply(std::vector<protocol::task_event> events,
                                                                         wall_time now) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::exception_ptr, std::shared_ptr<const apply_result>)>(
      [this](auto done, std::vector<protocol::task_event> batch, wall_time at) {
        enqueue({std::move(batch), at, std::move(done)});
      },
      asio::use_awaitable, std::move(events), now);
}

void ingest_queue::enqueue(waiting w) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(w));
    start = !std::exchange(draining_, true);
  }
  if (start) asio::post(store_executor_, [this] { drain(); });
}

void ingest_queue::drain() {
  std::vector<waiting> group;
  {
    std::lock_guard lock(mutex_);
    group.swap(queue_);
  }
  commit(group);
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) {
      draining_ = false;
      return;
    }
  }
  // Batches that arrived during the commit form the next group; posted, not looped, so other
  // store work (history reads, stats) is not starved.
  asio::post(store_executor_, [this] { drain(); });
}

void ingest_queue::commit(std::vector<waiting>& group) {
  std::vector<protocol::task_event> all;
  std::size_t total = 0;
  for (const auto& w : group) total += w.events.size();
  all.reserve(total);
  for (auto& w : group) std::move(w.events.begin(), w.events.end(), std::back_inserter(all));

  std::shared_ptr<const apply_result> result;
  try {
    auto applied = store_.apply(all, group.back().now);
    applied.accepted = group.front().now;  // the oldest request: fan-out latency counts from it
    result = std::make_shared<const apply_result>(std::move(applied));
  } catch (...) {
    const auto error = std::current_exception();
    for (auto& w : group) complete_at_home(std::move(w.done), error, std::shared_ptr<const apply_result>());
    return;
  }
  on_commit_(result);  // durable first, then fan-out

  // Each request gets its own events back, in order; statistics belong to the fan-out only.
  std::size_t offset = 0;
  for (auto& w : group) {
    auto mine = std::make_shared<apply_result>();
    const auto first = result->events.begin() + static_cast<std::ptrdiff_t>(offset);
    mine->events.assign(first, first + static_cast<std::ptrdiff_t>(w.events.size()));
    offset += w.events.size();
    complete_at_home(std::move(w.done), std::exception_ptr(), std::shared_ptr<const apply_result>(std::move(mine)));
  }
}

}  // namespace dh::core
