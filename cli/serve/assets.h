// The dashboard's static files (cli/serve/assets/), embedded in the binary at build time by
// cmake/embed_assets.cmake: the browser needs nothing but this server (no CDN).
#pragma once

#include <string_view>

namespace pgqrs::cli::serve {

struct Asset {
  std::string_view name;          // file name under cli/serve/assets/, e.g. "app.js"
  std::string_view content_type;  // from the extension
  std::string_view body;
};

// The embedded file `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace pgqrs::cli::serve
