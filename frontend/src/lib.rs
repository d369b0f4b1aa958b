//! The Prompt Refinery browser app.
//!
//! Pure logic, unit-tested natively with `cargo test -p frontend`: [`flow`] (which screen a
//! session shows), [`words`] (what the page says) and [`errors`] (what a failed request means to
//! a person). The Leptos UI and the HTTP client exist only in the wasm32 build that trunk makes;
//! read them top down: `app` (shell and router) → `screens` (`Home` picks a screen) →
//! `screens::*` and `components::*`, with `state` (the context) and `actions` (the requests).

pub mod errors;
pub mod flow;
pub mod words;

#[cfg(target_arch = "wasm32")]
pub mod actions;
#[cfg(target_arch = "wasm32")]
mod announce;
#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod screens;
#[cfg(target_arch = "wasm32")]
pub mod state;

#[cfg(target_arch = "wasm32")]
pub use app::mount;
