//! The offline stand-ins, used when no API key is configured: the local prompt composer and the
//! local preview renderer. Both can be slowed down and scripted to fail, for demos and tests.
//! [`thumbnail`] scales a preview down for small pictures.

mod composer;
mod preview;
mod thumbnail;

pub use composer::LocalComposer;
pub use preview::LocalPreview;
pub use thumbnail::thumbnail;
