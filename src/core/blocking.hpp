// blocking.hpp — runs blocking work (the store) on another executor and resumes the awaiting
// coroutine on its own executor with the result or the exception. Keeps network threads free.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>

namespace dh::core {

// Completes `handler` with `args` on the handler's own executor: how work done on the store
// thread hands its result back to the coroutine that waits for it.
template <class Handler, class... Args>
void complete_at_home(Handler handler, Args... args) {
  auto home = boost::asio::get_associated_executor(handler);
  boost::asio::dispatch(home, [handler = std::move(handler), ... args = std::move(args)]() mutable {
    std::move(handler)(std::move(args)...);
  });
}

template <class Function>
auto run_blocking(boost::asio::any_io_executor worker, Function function)
    -> boost::asio::awaitable<std::invoke_result_t<Function&>> {
  namespace asio = boost::asio;
  using result = std::invoke_result_t<Function&>;
  auto value = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<result>)>(
      [worker](auto handler, Function fn) {
        asio::post(worker, [fn = std::move(fn), handler = std::move(handler)]() mutable {
          std::exception_ptr error;
          std::optional<result> out;
          try {
            out.emplace(fn());
          } catch (...) {
            error = std::current_exception();
          }
          complete_at_home(std::move(handler), error, std::move(out));
        });
      },
      asio::use_awaitable, std::move(function));
  co_return std::move(*value);
}

}  // namespace dh::core
