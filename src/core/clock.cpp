#include "core/clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace dh::core {

namespace {

class asio_timer final : public timer {
 public:
  explicit asio_timer(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  void call_at(steady_time at, std::function<void()> fn) override {
    timer_.expires_at(at);  // the pending wait, if any, completes with operation_aborted
    timer_.async_wait([fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<timer> clock::make_timer(const boost::asio::any_io_executor& executor) const {
  return std::make_unique<asio_timer>(executor);
}

}  // namespace dh::core
