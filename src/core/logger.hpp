// logger.hpp — structured log lines (text or JSON) to stderr with a level filter. Thread-safe:
// each line is one write. Callers must never pass secrets or tokens.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace dh::core {

enum class log_level { debug, info, warn, error, off };

// What an exception that escaped a coroutine says, for its log line (never null).
std::string describe(std::exception_ptr e);
enum class log_format { text, json };

class logger {
 public:
  explicit logger(log_level level = log_level::info, log_format format = log_format::text,
                  std::FILE* out = stderr) noexcept
      : level_(level), format_(format), out_(out) {}

  bool enabled(log_level level) const noexcept { return level >= level_; }

  template <class... Args>
  void log(log_level level, fmt::format_string<Args...> f, Args&&... args) const {
    if (enabled(level)) write(level, fmt::format(f, std::forward<Args>(args)...));
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) const { log(log_level::debug, f, std::forward<Args>(args)...); }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const { log(log_level::info, f, std::forward<Args>(args)...); }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const { log(log_level::warn, f, std::forward<Args>(args)...); }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const { log(log_level::error, f, std::forward<Args>(args)...); }

  void write(log_level level, std::string_view message) const;

 private:
  log_level level_;
  log_format format_;
  std::FILE* out_;
};

}  // namespace dh::core
