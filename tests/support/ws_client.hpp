// ws_client.hpp — a blocking WebSocket/HTTP client for tests, with a receive timeout on every
// read so a missing message fails the test instead of hanging it. Every JSON the server sends
// through it is checked with a strict parser (SPEC §2: no Infinity, no duplicate keys). Test-only.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace dh::test {

struct http_reply {
  int status = 0;
  std::string body;
};

// One plain HTTP/1.1 request on a fresh connection.
http_reply http_get(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {});
http_reply http_post(std::uint16_t port, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers = {});

// Sends raw bytes on a fresh connection and returns all the server sends until it closes (5 s at
// most). `from`: a loopback source address other than 127.0.0.1 (e.g. "127.0.0.2").
std::string raw_exchange(std::uint16_t port, const std::string& bytes, const std::string& from = {});
// What the first recv() returns after sending raw bytes (5 s at most): the client waits in it
// before the server answers, so what the server sent in one send comes back whole.
std::string raw_first_read(std::uint16_t port, const std::string& bytes);
// A WebSocket upgrade request as raw bytes, for clients that must send what no library would.
std::string upgrade_request(const std::string& target, const std::string& extra_headers = {},
                            const std::string& version = "13");
// Everything readable on a connected socket until the peer closes or 5 s pass. Plain recv(2)
// with SO_RCVTIMEO: Asio's blocking reads would wait forever.
std::string read_until_closed(int fd);

class ws_client {
 public:
  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // Opens the connection and performs the upgrade; false (with the HTTP status) when refused.
  // `from`: a local address to connect from (127.0.0.2, say), for tests of per-address rules.
  bool connect(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {},
               int* refused_status = nullptr, const std::string& from = {});

  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);
  void send_json(const boost::json::object& message);
  // A ping message of the contract with the given payload.
  void send_ping(const boost::json::object& payload = {});

  // The next text message, or nullopt on close, error or timeout.
  std::optional<std::string> read_text(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next message parsed as an object; fails the current test when there is none.
  boost::json::object read_json(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until the server closes; returns its close code (0 when the connection just dropped,
  // -1 when it is still open after `timeout`).
  int read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Reads what the server sends from here on without answering anything, not even its pings:
  // a peer that is connected but deaf. Returns the code of the server's close frame as soon as
  // it arrives, 0 if the connection ended or 30 s passed without one.
  int read_deaf_until_close();
  // Writes bytes as they are onto the connection, past Beast: frames no WebSocket client would
  // send (unmasked ones, say).
  void send_raw(const std::string& bytes);
  // Ends the client's side of the stream (TCP FIN) and keeps the connection open for reading.
  void shutdown_send();
  // Closes the TCP connection with a reset (SO_LINGER 0): no close frame, no FIN.
  void reset();

  // Sends a close frame with `code` and waits (bounded) for the server's; true when it came.
  bool close(std::uint16_t code = 1000, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Writes a close frame and returns at once, as a browser leaving a page does; the client is
  // unusable afterwards.
  void send_close_frame(std::uint16_t code);

  bool is_open() const;
  // The code of the close frame the server sent, once read_text() has returned nullopt for it;
  // 0 when none came.
  int close_code() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dh::test
