//! The pieces the screens place: the workspace's brief and stage, the shape buttons, the request
//! alert, the quota note, "Go through the questions again", "Start over" (which asks first), the
//! offline badge and the icons. Each takes its data as props.
//!
//! Slots for later issues: the stage's action bar takes the per-image actions (edit in words, use
//! as reference, copy recipe link, delete) beside Download, and the strip becomes the gallery.

mod brief;
mod change_answers;
pub mod icons;
mod offline_badge;
mod quota_note;
mod ratio_picker;
mod request_error;
mod stage;
mod start_over;
mod strip;

pub use brief::Brief;
pub use change_answers::ChangeAnswers;
pub use offline_badge::OfflineBadge;
pub use quota_note::QuotaNote;
pub use ratio_picker::{RatioChoice, RatioPicker};
pub use request_error::RequestError;
pub use stage::Stage;
pub use start_over::StartOver;
