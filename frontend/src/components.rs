//! Reusable pieces several screens place: the request alert, the ratio picker, the answers list,
//! the quota note, "Change answers" and "Start over". Each takes its data as props.

mod answers_list;
mod change_answers;
mod quota_note;
mod ratio_select;
mod request_error;
mod start_over;

pub use answers_list::AnswersList;
pub use change_answers::ChangeAnswers;
pub use quota_note::QuotaNote;
pub use ratio_select::{RatioChoice, RatioSelect};
pub use request_error::RequestError;
pub use start_over::StartOver;
