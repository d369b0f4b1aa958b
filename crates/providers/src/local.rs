//! The offline stand-ins, used when no API key is configured: the local prompt composer and the
//! local preview renderer. Both can be slowed down and scripted to fail, for demos and tests.

mod composer;
mod preview;

pub use composer::LocalComposer;
pub use preview::LocalPreview;
