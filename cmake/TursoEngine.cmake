# The Turso engine for the Turso backend: the glue crate src/backend/turso/engine (a Rust
# staticlib re-exporting the C ABI of turso_sdk_kit), built with cargo.
#
# Defines the IMPORTED static library `pgqrs_turso_engine` (the archive, the turso.h include
# directory, the system libraries a Rust staticlib needs) and the custom target
# `pgqrs_turso_engine_build` that runs cargo. Link the library and depend on the target.
# PGQRS_TURSO_ENGINE_ARCHIVE is the archive's path (for install()).
#
# Caching: the cargo target directory lives OUTSIDE the build tree and the clone, in
#   <cache>/turso/<first 16 hex of sha256(Cargo.lock)>-<rustc version>
# where <cache> is $PGQRS_CACHE_DIR, else $XDG_CACHE_HOME/pgqrs, else ~/.cache/pgqrs (the
# same rule as scripts/lib.sh pgqrs_cache_dir). A second build, another build directory or a
# fresh clone with the same Cargo.lock and toolchain reuses the compiled engine: cargo then
# only checks that it is up to date (about a second). Changing Cargo.lock or the toolchain
# selects a new directory; cargo itself tracks every other input (Cargo.toml, src/lib.rs).
#
# Inputs: $PGQRS_CACHE_DIR (at configure time), PGQRS_CARGO_JOBS (cargo -j, default 2). Network: cargo downloads the locked crates from
# the crate registry on the first build only (--locked: Cargo.lock is never rewritten).

set(PGQRS_CARGO_JOBS 2 CACHE STRING "Parallel jobs for the cargo build of the Turso engine")

set(_turso_crate_dir ${PROJECT_SOURCE_DIR}/src/backend/turso/engine)

find_program(PGQRS_CARGO cargo HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
find_program(PGQRS_RUSTC rustc HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin")
if(NOT PGQRS_CARGO OR NOT PGQRS_RUSTC)
  message(FATAL_ERROR "PGQRS_WITH_TURSO needs the Rust toolchain (cargo and rustc) to build the "
    "Turso engine; none was found on PATH or in ~/.cargo/bin. Run scripts/bootstrap, or "
    "configure with -DPGQRS_WITH_TURSO=OFF.")
endif()

execute_process(COMMAND ${PGQRS_RUSTC} -vV OUTPUT_VARIABLE _turso_rustc_vv
  RESULT_VARIABLE _turso_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "release: ([^\n]+)" _ "${_turso_rustc_vv}")
set(_turso_rustc_release "${CMAKE_MATCH_1}")
if(NOT _turso_rc EQUAL 0 OR _turso_rustc_release STREQUAL "")
  message(FATAL_ERROR "`${PGQRS_RUSTC} -vV` failed; the Rust toolchain is not usable")
endif()

# cargo runs the rustc that named the cache key (RUSTC), with the toolchain's directory on
# PATH even when the caller's PATH lacks ~/.cargo/bin.
get_filename_component(_turso_cargo_bin "${PGQRS_CARGO}" DIRECTORY)

# The cache directory, keyed by the lock file and the toolchain.
if(DEFINED ENV{PGQRS_CACHE_DIR} AND NOT "$ENV{PGQRS_CACHE_DIR}" STREQUAL "")
  set(_turso_cache_root "$ENV{PGQRS_CACHE_DIR}")
elseif(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_turso_cache_root "$ENV{XDG_CACHE_HOME}/pgqrs")
else()
  set(_turso_cache_root "$ENV{HOME}/.cache/pgqrs")
endif()
file(SHA256 ${_turso_crate_dir}/Cargo.lock _turso_lock_hash)
string(SUBSTRING "${_turso_lock_hash}" 0 16 _turso_lock_key)
set(_turso_key "${_turso_lock_key}-${_turso_rustc_release}")
set(PGQRS_TURSO_CACHE_DIR "${_turso_cache_root}/turso/${_turso_key}")

# turso.h ships in the turso_sdk_kit crate. `cargo metadata` downloads the locked crates if
# needed and tells where the crate's sources are.
execute_process(
  COMMAND ${PGQRS_CARGO} metadata --format-version 1 --locked
          --manifest-path ${_turso_crate_dir}/Cargo.toml
  OUTPUT_VARIABLE _turso_metadata ERROR_VARIABLE _turso_metadata_err
  RESULT_VARIABLE _turso_rc)
if(NOT _turso_rc EQUAL 0)
  message(FATAL_ERROR "cargo metadata for the Turso glue crate failed (is the crate registry "
    "reachable, and Cargo.lock up to date?):\n${_turso_metadata_err}")
endif()
string(REGEX MATCH "\"manifest_path\":\"([^\"]*/turso_sdk_kit-[^\"/]*)/Cargo.toml\""
  _ "${_turso_metadata}")
set(_turso_include_dir "${CMAKE_MATCH_1}")
if(_turso_include_dir STREQUAL "" OR NOT EXISTS "${_turso_include_dir}/turso.h")
  message(FATAL_ERROR "turso.h not found: cargo metadata names no turso_sdk_kit crate "
    "directory with a turso.h (got '${_turso_include_dir}')")
endif()
string(REGEX MATCH "turso_sdk_kit-([^/]*)$" _ "${_turso_include_dir}")
set(PGQRS_TURSO_ENGINE_VERSION "${CMAKE_MATCH_1}" CACHE INTERNAL "turso_sdk_kit version")

set(_turso_lib "${PGQRS_TURSO_CACHE_DIR}/release/libpgqrs_turso_engine.a")
message(STATUS "Turso engine: turso_sdk_kit ${PGQRS_TURSO_ENGINE_VERSION}, rustc "
  "${_turso_rustc_release}, cargo target dir ${PGQRS_TURSO_CACHE_DIR}")

# Runs on every build; cargo is a no-op (about a second) when nothing changed, and Ninja
# relinks dependents only when the archive really changed (BYPRODUCTS + restat).
# The C compiler settings cc-based crates (simsimd) fingerprint are unset, so that every
# build of the engine sees the same environment: a build driven by pip (which may export
# SOURCE_DATE_EPOCH, CC or CFLAGS) would otherwise invalidate the shared cache and the next
# CMake build would rebuild it again (minutes each time).
set(_turso_unset_env)
foreach(_var CC CFLAGS CXX CXXFLAGS AR ARFLAGS HOST_CC HOST_CFLAGS SOURCE_DATE_EPOCH CPATH
    C_INCLUDE_PATH CPLUS_INCLUDE_PATH CRATE_CC_NO_DEFAULTS)
  list(APPEND _turso_unset_env --unset=${_var})
endforeach()

add_custom_target(pgqrs_turso_engine_build
  COMMAND ${CMAKE_COMMAND} -E env ${_turso_unset_env} CARGO_TARGET_DIR=${PGQRS_TURSO_CACHE_DIR}
          RUSTC=${PGQRS_RUSTC} "PATH=${_turso_cargo_bin}:$ENV{PATH}"
          ${PGQRS_CARGO} build --release --locked -j ${PGQRS_CARGO_JOBS}
          --manifest-path ${_turso_crate_dir}/Cargo.toml
  BYPRODUCTS ${_turso_lib}
  WORKING_DIRECTORY ${_turso_crate_dir}
  COMMENT "cargo build of the Turso engine (cached in ${PGQRS_TURSO_CACHE_DIR})"
  USES_TERMINAL VERBATIM)

set(PGQRS_TURSO_ENGINE_ARCHIVE ${_turso_lib})
add_library(pgqrs_turso_engine STATIC IMPORTED GLOBAL)
# What Rust's std needs on Linux (`cargo rustc --release -- --print native-static-libs`).
set_target_properties(pgqrs_turso_engine PROPERTIES
  IMPORTED_LOCATION ${_turso_lib}
  INTERFACE_INCLUDE_DIRECTORIES ${_turso_include_dir}
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};gcc_s;util;rt;m")
