//! The Prompt Refinery server. A request flows top to bottom through:
//! [`startup`] (router and layers: [`access`], [`rate_limit`], [`middleware`]) → [`routes`] (one
//! module per resource) → [`extract`] (the session cookie and the session) → [`session`] (flow
//! state) and [`jobs`] (background generation) → the `store` and `providers` crates. [`error`]
//! turns every failure into the `{"error", "code"}` envelope; [`state`] only assembles.

pub mod access;
pub mod client_addr;
pub mod config;
pub mod describe;
pub mod error;
pub mod examples;
pub mod extract;
pub mod imaging;
pub mod jobs;
pub mod memory;
pub mod middleware;
pub mod model_check;
pub mod observability;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod speculation;
pub mod stalled_reader;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod upkeep;
pub mod views;
