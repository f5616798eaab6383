// web_assets.hpp — the live dashboard page (web/), embedded into the binary at build time by
// cmake/embed_assets.cmake: each file's route, content type, ETag and bytes.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace dh::net {

struct web_asset {
  std::string_view route;         // "/" for index.html, else "/<file>"
  std::string_view content_type;
  std::string_view etag;          // quoted; a hash of the content
  const unsigned char* bytes;
  std::size_t size;

  std::string_view body() const noexcept { return {reinterpret_cast<const char*>(bytes), size}; }
};

std::span<const web_asset> web_assets();

}  // namespace dh::net
