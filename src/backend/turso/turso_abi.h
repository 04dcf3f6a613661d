// The Turso C ABI (turso.h of the crate turso_sdk_kit, found by CMake in the crate's source
// directory; see cmake/TursoEngine.cmake). The header has no extern "C" guard of its own,
// so C++ code includes it through this file only.
#pragma once

extern "C" {
#include <turso.h>
}
