//! API tests through the real HTTP server. One module per concern.

mod access;
mod bad_input;
mod curl_recipe;
mod events;
mod flow;
mod gallery;
mod generate;
mod helpers;
mod live_providers;
mod media;
mod model_check;
mod observability;
mod openapi;
mod quota;
mod rate_limit;
mod references;
mod refinement;
mod restart;
mod secrecy;
mod security;
mod spa;
mod speculation;
mod templates;
mod time_limits;
mod variations;
mod workspace;
