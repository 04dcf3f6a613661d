# `make deb`: one Debian package, `pgqrs`, built by CPack from the `package` preset (shared
# libpgqrs.so with every backend inside, public headers, the CMake package config, the pgqrs
# CLI and its man page). Runtime dependencies come from dpkg-shlibdeps; the headers need
# nlohmann-json (it is part of the public API).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgqrs)
set(CPACK_PACKAGE_VENDOR "pgqrs")
set(CPACK_PACKAGE_CONTACT "pgqrs maintainers <pgqrs@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Durable execution engine and job queue library (Postgres, SQLite, Turso, S3)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nlohmann-json3-dev (>= 3.10), tzdata")
set(CPACK_PACKAGE_INSTALL_DIRECTORY pgqrs)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
include(CPack)
