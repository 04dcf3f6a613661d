// Config checks the engine runs itself (internal; the public face is Config::validate()).
#pragma once

#include "pgqrs/config.h"

namespace pgqrs::core {

// Throws ConfigError naming the first invalid field; checks every field but the dsn, which
// is checked where it is parsed (backend::Dsn::parse, once per connect).
void validate_settings(const Config& config);

}  // namespace pgqrs::core
