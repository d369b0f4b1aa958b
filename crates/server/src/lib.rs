//! The Prompt Refinery server. A request flows top to bottom through:
//! [`startup`] (router and layers) → [`routes`] (one module per resource) → [`session`] (cookie and
//! store) and [`jobs`] (background generation) → the `providers` crate. [`error`] turns every
//! failure into the `{"error", "code"}` envelope.

pub mod access;
pub mod client_addr;
pub mod config;
pub mod error;
pub mod ids;
pub mod images;
pub mod jobs;
pub mod middleware;
pub mod observability;
pub mod openapi;
pub mod quota;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
