//! HTTP handlers, one module per resource. Each exposes `router()`; `startup` merges them.

pub mod generate;
pub mod images;
pub mod login;
pub mod meta;
pub mod session;
pub mod templates;
