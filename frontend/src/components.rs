//! The pieces the screens place: the workspace's brief (with its reference images) and stage
//! (with the session's gallery under it), the shape buttons, the request alert, the quota note,
//! "Go through the questions again", "Start over" (which asks first), the offline badge and the
//! icons. Each takes its data as props.

mod brief;
mod change_answers;
mod gallery;
pub mod icons;
mod offline_badge;
mod quota_note;
mod ratio_picker;
mod references;
mod request_error;
mod stage;
mod start_over;

pub use brief::Brief;
pub use change_answers::ChangeAnswers;
pub use offline_badge::OfflineBadge;
pub use quota_note::QuotaNote;
pub use ratio_picker::{RatioChoice, RatioPicker};
pub use references::References;
pub use request_error::RequestError;
pub use stage::Stage;
pub use start_over::StartOver;
