// dev_secrets.hpp — development mode's made-up JWT secret and ingest key, kept in the data
// directory so that a page's token and a script's key survive a restart of the server.
#pragma once

#include "app/config.hpp"

#include <filesystem>
#include <string>

namespace dh::app {

// The file that holds them: `<data_dir>/dev-secrets`, mode 0600.
std::filesystem::path dev_secrets_path(const config& cfg);

// When --dev made up the secret or the key and the data directory is on disk: the ones kept from
// an earlier run replace them, or these are kept for the next. Returns what it did, for the
// banner; throws std::runtime_error with the path when the file cannot be read or written.
std::string keep_dev_secrets(config& cfg);

}  // namespace dh::app
