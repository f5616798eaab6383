#include "core/logger.hpp"

#include "protocol/timestamp.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>

namespace dh::core {

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

namespace {
constexpr std::string_view level_names[] = {"debug", "info", "warn", "error", "off"};
}

void logger::write(log_level level, std::string_view message) const {
  const auto ts = protocol::format_timestamp(std::chrono::system_clock::now());
  const auto name = level_names[static_cast<int>(level)];
  std::string line;
  if (format_ == log_format::json) {
    line = boost::json::serialize(boost::json::object{{"ts", ts},
                                                      {"level", boost::json::string_view(name.data(), name.size())},
                                                      {"msg", boost::json::string_view(message.data(), message.size())}});
    line += '\n';
  } else {
    line = fmt::format("{} {:<5} {}\n", ts, name, message);
  }
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace dh::core
