//! The Prompt Refinery browser app.
//!
//! [`flow`] (which screen to draw) and [`errors`] (what a failed request means to a person) are
//! plain Rust and are unit-tested natively with `cargo test -p frontend`. The Leptos UI and the
//! HTTP client exist only in the wasm32 build that trunk makes.

pub mod errors;
pub mod flow;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
pub use app::mount;
