// sse_client.hpp — a blocking Server-Sent Events client for tests: sends the GET, reads the
// response head, then yields events (comments counted apart) with a timeout on every read, so a
// missing event fails the test instead of hanging it. Test-only.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace dh::test {

struct sse_event {
  std::string event;              // "message" when the stream named none
  std::optional<std::string> id;
  std::string data;               // the data lines joined by "\n"
  std::optional<std::string> retry;
};

class sse_client {
 public:
  sse_client() = default;
  ~sse_client();
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  // Sends `GET target` with `headers` from 127.0.0.1 (or `from`) and reads the response head;
  // returns its status (0: no answer). Anything but 200 is read to its end: see body().
  int connect(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {},
              const std::string& from = {});
  // A response header's value, empty when absent (names compared case-insensitively).
  std::string header(const std::string& name) const;
  const std::string& body() const noexcept { return body_; }

  // The next event, or nullopt when the stream ended or nothing came within `timeout`.
  std::optional<sse_event> next(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next event's data as a JSON object, checked: its `type` equals the event's name. Fails
  // the current test when there is none.
  boost::json::object next_json(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until the server ends the stream; true when it did within `timeout`.
  bool ended(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Comment lines seen so far (heartbeats).
  int comments() const noexcept { return comments_; }
  // The `retry:` the stream set, if any.
  const std::optional<std::string>& retry() const noexcept { return retry_; }
  // Stops reading but keeps the connection open: a reader that no longer reads.
  int fd() const noexcept { return fd_; }
  void close();

 private:
  bool fill(std::chrono::milliseconds timeout);  // false: ended or timed out
  void dechunk();  // moves whole chunks of raw_ into buffer_ (a proxy may chunk the stream)
  std::optional<std::string> take_line();

  int fd_ = -1;
  std::string buffer_;  // the body, de-chunked
  std::string raw_;     // chunked bytes not yet decoded
  bool chunked_ = false;
  std::string head_;
  std::string body_;
  int comments_ = 0;
  std::optional<std::string> retry_;
  bool eof_ = false;
};

}  // namespace dh::test
