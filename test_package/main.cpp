// A producer and client of the dashboard-hub contract in miniature: it encodes a server message,
// decodes the client messages it would send, and checks a token, all with dashboard_hub::protocol.
#include "protocol/jwt.hpp"
#include "protocol/messages.hpp"

#include <chrono>
#include <cstdio>
#include <variant>

int main() {
  using namespace dh::protocol;
  const auto now = std::chrono::system_clock::now();
  const auto update = encode_dashboard_update({3, 1, now}, now);
  std::printf("encoded: %s\n", update.c_str());

  const auto decoded = decode_client_message(R"({"type":"subscribe_dashboard","payload":{"userId":"42","lastEventId":"7"}})");
  if (!decoded || !std::holds_alternative<subscribe_dashboard>(*decoded)) return 1;
  const auto& subscribe = std::get<subscribe_dashboard>(*decoded);
  std::printf("decoded: subscribe_dashboard user=%s lastEventId=%llu\n", subscribe.user_id.c_str(),
              static_cast<unsigned long long>(subscribe.last_event_id.value_or(0)));

  const auto refused = decode_client_message(R"({"type":"subscribe_dashboard"})");
  if (refused) return 1;
  std::printf("refused: %s\n", refused.error().message.c_str());

  auto verifier = jwt_verifier::create({jwt_alg::hs256, "consumer-secret-0123456789-abcdefghijklmnop", {}, {}, std::chrono::seconds(30)});
  if (!verifier || verifier->verify("not-a-token", now)) return 1;
  std::printf("a malformed token is refused\n");
  return 0;
}
