#include "app/dev_secrets.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dh::app {

namespace {

struct kept {
  std::string jwt_secret;
  std::string ingest_key;
};

// `name=value` lines; unknown names are ignored, so a later version may add some.
kept read_kept(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", path.string()));
  kept out;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const auto name = line.substr(0, eq);
    if (name == "jwt-secret") out.jwt_secret = line.substr(eq + 1);
    if (name == "ingest-key") out.ingest_key = line.substr(eq + 1);
  }
  return out;
}

// Created with 0600 from the start (not chmod'ed after): the secret is never readable by others.
void write_kept(const std::filesystem::path& path, const kept& k) {
  const auto text = fmt::format("# dashboard-hub --dev: made up on first run, reused after\njwt-secret={}\ningest-key={}\n",
                                k.jwt_secret, k.ingest_key);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  const auto written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

}  // namespace

std::filesystem::path dev_secrets_path(const config& cfg) { return std::filesystem::path(cfg.data_dir) / "dev-secrets"; }

std::string keep_dev_secrets(config& cfg) {
  if (!cfg.dev || cfg.redis || cfg.data_dir == ":memory:") return {};
  if (!cfg.dev_secret_generated && !cfg.dev_ingest_key_generated) return {};
  const auto path = dev_secrets_path(cfg);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    const auto k = read_kept(path);
    if (cfg.dev_secret_generated && !k.jwt_secret.empty()) cfg.jwt.key = k.jwt_secret;
    if (cfg.dev_ingest_key_generated && !k.ingest_key.empty()) cfg.server.ingest_key = k.ingest_key;
    return fmt::format("kept from an earlier run in {}", path.string());
  }
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", cfg.data_dir, ec.message()));
  write_kept(path, {cfg.jwt.key, cfg.server.ingest_key});
  return fmt::format("kept for the next run in {}", path.string());
}

}  // namespace dh::app
