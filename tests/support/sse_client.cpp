#include "support/sse_client.hpp"

#include "protocol/strict_json.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace dh::test {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

sse_client::~sse_client() { close(); }

void sse_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int sse_client::connect(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers,
                        const std::string& from) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (!from.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) throw std::runtime_error("bind failed");
  }
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) return 0;
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 0;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(std::chrono::seconds(5))) return 0;
  head_ = buffer_.substr(0, end + 2);
  buffer_.erase(0, end + 4);
  chunked_ = lower(header("Transfer-Encoding")) == "chunked";
  if (chunked_) {
    raw_ = std::move(buffer_);
    buffer_.clear();
    dechunk();
  }
  const auto status = std::stoi(head_.substr(9, 3));
  if (status != 200) {
    while (fill(std::chrono::seconds(5))) {
    }
    body_ = std::move(buffer_);
  }
  return status;
}

std::string sse_client::header(const std::string& name) const {
  const auto wanted = "\r\n" + lower(name) + ":";
  const auto text = lower(head_);
  const auto at = text.find(wanted);
  if (at == std::string::npos) return {};
  auto value_at = at + wanted.size();
  while (value_at < head_.size() && head_[value_at] == ' ') ++value_at;
  return head_.substr(value_at, head_.find("\r\n", value_at) - value_at);
}

bool sse_client::fill(std::chrono::milliseconds timeout) {
  if (eof_ || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[8192];
  const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  if (!chunked_) {
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  raw_.append(chunk, static_cast<std::size_t>(n));
  dechunk();
  return true;
}

void sse_client::dechunk() {
  for (;;) {
    const auto line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) return;
    const auto size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
    if (size == 0) {  // the last chunk: the stream has ended
      eof_ = true;
      raw_.clear();
      return;
    }
    if (raw_.size() < line_end + 2 + size + 2) return;
    buffer_.append(raw_, line_end + 2, size);
    raw_.erase(0, line_end + 2 + size + 2);
  }
}

std::optional<std::string> sse_client::take_line() {
  const auto end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  auto line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  return line;
}

std::optional<sse_event> sse_client::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sse_event event;
  bool has_data = false;
  for (;;) {
    auto line = take_line();
    if (!line) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(left)) return std::nullopt;
      continue;
    }
    if (line->empty()) {  // an event ends; one without data dispatches nothing (the standard's rule)
      if (has_data) {
        if (event.event.empty()) event.event = "message";
        return event;
      }
      event = {};
      continue;
    }
    if ((*line)[0] == ':') {
      ++comments_;
      continue;
    }
    const auto colon = line->find(':');
    const auto field = line->substr(0, colon);
    auto value = colon == std::string::npos ? std::string() : line->substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "event") event.event = value;
    if (field == "id") event.id = value;
    if (field == "retry") retry_ = value;
    if (field == "data") {
      if (has_data) event.data += "\n";
      event.data += value;
      has_data = true;
    }
  }
}

boost::json::object sse_client::next_json(std::chrono::milliseconds timeout) {
  auto event = next(timeout);
  REQUIRE_MESSAGE(event.has_value(), "no event within the timeout");
  CHECK_MESSAGE(protocol::parse_strict_json(event->data).has_value(), "the server sent JSON a strict parser refuses");
  auto message = boost::json::parse(event->data).as_object();
  CHECK(message.at("type").as_string() == event->event);
  return message;
}

bool sse_client::ended(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    buffer_.clear();
    if (!fill(left) && !eof_) return false;
  }
  return true;
}

}  // namespace dh::test
