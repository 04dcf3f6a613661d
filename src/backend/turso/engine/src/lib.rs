//! Glue crate: re-exports the C ABI of turso_sdk_kit (the `turso_*` extern "C" functions of
//! turso.h) so that the staticlib built from this crate carries them for pgqrs to link.
pub use turso_sdk_kit::*;
