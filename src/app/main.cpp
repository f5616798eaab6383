// main.cpp — parses the invocation and dispatches; everything else lives in app/config and app/run.
#include "app/config.hpp"
#include "app/run.hpp"
#include "dh/version.hpp"

#include <fmt/format.h>

#include <csignal>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace dh::app;
  // A log reader that went away must not kill the server; sockets already use MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv, argv + argc);
  auto parsed = parse_invocation(args, process_environment());
  if (!parsed) {
    fmt::print(stderr, "dashboard-hub: {}\n", parsed.error());
    return 2;
  }
  switch (parsed->what) {
    case command::help: fmt::print("{}", parsed->help); return 0;
    case command::version: fmt::print("dashboard-hub {}\n", dh::version); return 0;
    case command::token: {
      auto token = mint_user_token(parsed->settings, parsed->token.user, parsed->token.ttl,
                                   std::chrono::system_clock::now());
      if (!token) {
        fmt::print(stderr, "dashboard-hub: {}\n", token.error().message);
        return 2;
      }
      fmt::print("{}\n", *token);
      return 0;
    }
    case command::serve: return run_server(parsed->settings);
  }
  return 2;
}
