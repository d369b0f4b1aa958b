//! The stepper's view state: which screen a session shows, and how server answers move it.
//!
//! Pure data and functions over the `contracts` types, with no browser APIs, so it runs (and is
//! unit-tested) natively. The server owns the flow; this only decides what to draw from what it
//! said, plus the one thing the server cannot know: that the person has just finished answering
//! and wants to generate, even though an older image exists.

use contracts::{
    ApiErrorBody, AspectRatio, ImageView, JobStatus, JobView, QuestionView, SessionStatus,
    SessionView,
};

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The session is being fetched (first paint, or after a reload).
    Loading,
    /// No session: template picker and idea.
    Start,
    /// One question waiting for an answer.
    Question(QuestionView),
    /// All answers are in and no image is being made: the Generate button.
    Ready,
    /// A job is running.
    Generating(JobStatus),
    /// The newest job failed; the answers are still there and a retry is offered.
    Failed(ApiErrorBody),
    /// The newest image.
    Result(ImageView),
}

/// What decides whether a screen is drawn afresh (and focus moves): the kind of screen, plus the
/// question and its re-ask state, or the image shown. A job moving from one stage to the next only
/// updates the Generating screen in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenKey {
    Loading,
    Start,
    Question { index: u8, reask: bool },
    Ready,
    Generating,
    Failed,
    Result { url: String },
}

impl Screen {
    /// See [`ScreenKey`].
    pub fn key(&self) -> ScreenKey {
        match self {
            Screen::Loading => ScreenKey::Loading,
            Screen::Start => ScreenKey::Start,
            Screen::Question(q) => ScreenKey::Question {
                index: q.index,
                reask: q.reask,
            },
            Screen::Ready => ScreenKey::Ready,
            Screen::Generating(_) => ScreenKey::Generating,
            Screen::Failed(_) => ScreenKey::Failed,
            Screen::Result(image) => ScreenKey::Result {
                url: image.url.clone(),
            },
        }
    }
}

/// Where the page stands: the session the server last described, and whether it has been loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// False until the first `GET /api/session` has answered.
    pub loaded: bool,
    /// The server's latest word on the session; `None` when there is none.
    pub session: Option<SessionView>,
    /// Set when the last answer made the session ready, so the Ready screen shows instead of an
    /// image made from the previous answers. Cleared when a job starts.
    pub composing: bool,
}

impl Flow {
    /// The screen to draw now.
    pub fn screen(&self) -> Screen {
        if !self.loaded {
            return Screen::Loading;
        }
        let Some(session) = &self.session else {
            return Screen::Start;
        };
        if session.status == SessionStatus::Refining {
            return match &session.question {
                Some(question) => Screen::Question(question.clone()),
                // A refining session always has a question; draw something sensible anyway.
                None => Screen::Ready,
            };
        }
        if let Some(job) = &session.job
            && !job.status.is_terminal()
        {
            return Screen::Generating(job.status);
        }
        if self.composing {
            return Screen::Ready;
        }
        match &session.job {
            Some(JobView {
                status: JobStatus::Failed,
                error: Some(error),
                ..
            }) => Screen::Failed(error.clone()),
            _ => match &session.last_image {
                Some(image) => Screen::Result(image.clone()),
                None => Screen::Ready,
            },
        }
    }

    /// Records a session the server returned (start, answer, back, or a reload).
    pub fn on_session(&mut self, view: SessionView) {
        let was_refining = self
            .session
            .as_ref()
            .is_some_and(|s| s.status == SessionStatus::Refining);
        self.composing = match view.status {
            SessionStatus::Refining => false,
            SessionStatus::Ready => self.composing || was_refining,
        };
        self.session = Some(view);
        self.loaded = true;
    }

    /// Records that there is no session (none yet, expired, or started over).
    pub fn on_no_session(&mut self) {
        self.session = None;
        self.composing = false;
        self.loaded = true;
    }

    /// Records a job the server reported (a new one, or a poll of the running one).
    pub fn on_job(&mut self, job: JobView) {
        self.composing = false;
        let Some(session) = &mut self.session else {
            return;
        };
        if let Some(image) = &job.image {
            session.last_image = Some(image.clone());
            // An image exists only once a prompt was written.
            session.can_reuse_prompt = true;
        }
        session.job = Some(job);
    }

    /// The running job to keep polling, if any.
    pub fn running_job(&self) -> Option<&JobView> {
        self.session
            .as_ref()
            .and_then(|s| s.job.as_ref())
            .filter(|job| !job.status.is_terminal())
    }

    /// The idea of the current session, to keep in the field after "Start over".
    pub fn idea(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.idea.as_str())
    }

    /// The ratio the next image should use unless the person picks another.
    pub fn default_ratio(&self) -> Option<AspectRatio> {
        let session = self.session.as_ref()?;
        Some(
            session
                .last_image
                .as_ref()
                .map_or(session.default_aspect_ratio, |image| image.aspect_ratio),
        )
    }
}

/// How long the next `GET /api/generate/{jobId}?wait=` may hold. The server answers early only when
/// the job finishes, so while the prompt is being written a short wait lets the page notice the
/// switch to rendering; once rendering, only the end is left to wait for.
pub fn poll_wait_secs(status: JobStatus) -> u64 {
    match status {
        JobStatus::Queued | JobStatus::Synthesizing => 2,
        JobStatus::Rendering | JobStatus::Succeeded | JobStatus::Failed => 25,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{AnswerView, codes};

    fn question(index: u8) -> QuestionView {
        QuestionView {
            index,
            total: 3,
            text: format!("Question {index}?"),
            hint: "A hint.".into(),
            reask: false,
            previous_answer: None,
        }
    }

    fn image() -> ImageView {
        ImageView {
            url: "/api/images/abc".into(),
            mime_type: "image/png".into(),
            width: 16,
            height: 9,
            alt: "A lighthouse".into(),
            summary: "A lighthouse at dawn".into(),
            aspect_ratio: AspectRatio::Landscape16x9,
            offline_preview: true,
        }
    }

    fn session(status: SessionStatus) -> SessionView {
        SessionView {
            template_id: "general-cinematic".into(),
            template_name: "General cinematic".into(),
            idea: "a lighthouse".into(),
            status,
            question: (status == SessionStatus::Refining).then(|| question(1)),
            answers: vec![],
            default_aspect_ratio: AspectRatio::Landscape16x9,
            job: None,
            last_image: None,
            can_reuse_prompt: false,
            quota: None,
        }
    }

    fn job(status: JobStatus) -> JobView {
        JobView {
            job_id: "j1".into(),
            status,
            image: (status == JobStatus::Succeeded).then(image),
            error: (status == JobStatus::Failed).then(|| ApiErrorBody {
                error: "The image service is unavailable.".into(),
                code: codes::PROVIDER_UNAVAILABLE.into(),
            }),
        }
    }

    #[test]
    fn nothing_is_drawn_as_a_screen_before_the_session_is_loaded() {
        assert_eq!(Flow::default().screen(), Screen::Loading);
        let mut flow = Flow::default();
        flow.on_no_session();
        assert_eq!(flow.screen(), Screen::Start);
    }

    #[test]
    fn a_refining_session_shows_its_question() {
        let mut flow = Flow::default();
        flow.on_session(session(SessionStatus::Refining));
        assert_eq!(flow.screen(), Screen::Question(question(1)));
    }

    #[test]
    fn the_last_answer_leads_to_the_ready_screen_even_with_an_older_image() {
        // Arrange: a finished session with an image, then "Change answers".
        let mut flow = Flow::default();
        let mut done = session(SessionStatus::Ready);
        done.last_image = Some(image());
        done.job = Some(job(JobStatus::Succeeded));
        flow.on_session(done.clone());
        assert_eq!(flow.screen(), Screen::Result(image()));
        flow.on_session(session(SessionStatus::Refining));

        // Act: the last answer makes it ready again.
        flow.on_session(done);

        // Assert
        assert_eq!(flow.screen(), Screen::Ready);
    }

    #[test]
    fn a_reloaded_ready_session_shows_its_last_image() {
        let mut flow = Flow::default();
        let mut done = session(SessionStatus::Ready);
        done.last_image = Some(image());
        flow.on_session(done);
        assert_eq!(flow.screen(), Screen::Result(image()));
    }

    #[test]
    fn jobs_move_the_screen_through_generating_to_result_or_failure() {
        let cases = [
            (JobStatus::Queued, Screen::Generating(JobStatus::Queued)),
            (
                JobStatus::Rendering,
                Screen::Generating(JobStatus::Rendering),
            ),
            (JobStatus::Succeeded, Screen::Result(image())),
            (
                JobStatus::Failed,
                Screen::Failed(
                    job(JobStatus::Failed)
                        .error
                        .expect("failed job has an error"),
                ),
            ),
        ];
        for (status, expected) in cases {
            let mut flow = Flow::default();
            flow.on_session(session(SessionStatus::Refining));
            flow.on_session(session(SessionStatus::Ready));
            assert_eq!(flow.screen(), Screen::Ready);
            flow.on_job(job(status));
            assert_eq!(flow.screen(), expected, "{status:?}");
            assert_eq!(flow.running_job().is_some(), !status.is_terminal());
        }
    }

    #[test]
    fn a_failed_job_keeps_the_answers() {
        let mut flow = Flow::default();
        let mut ready = session(SessionStatus::Ready);
        ready.answers = vec![AnswerView {
            index: 1,
            question: "Where?".into(),
            answer: "Lisbon".into(),
            defaulted: false,
            skipped: false,
        }];
        flow.on_session(ready);
        flow.on_job(job(JobStatus::Failed));
        let answers = &flow.session.as_ref().expect("session kept").answers;
        assert_eq!(answers.len(), 1);
        assert!(
            matches!(flow.screen(), Screen::Failed(e) if e.code == codes::PROVIDER_UNAVAILABLE)
        );
    }

    #[test]
    fn a_succeeded_job_makes_a_new_take_possible() {
        let mut flow = Flow::default();
        flow.on_session(session(SessionStatus::Ready));
        flow.on_job(job(JobStatus::Succeeded));
        let s = flow.session.as_ref().expect("session");
        assert!(s.can_reuse_prompt);
        assert_eq!(flow.default_ratio(), Some(AspectRatio::Landscape16x9));
    }

    #[test]
    fn starting_over_forgets_the_session() {
        let mut flow = Flow::default();
        flow.on_session(session(SessionStatus::Ready));
        flow.on_no_session();
        assert_eq!(flow.screen(), Screen::Start);
        assert_eq!(flow.idea(), None);
    }

    #[test]
    fn stage_changes_keep_the_screen_while_new_questions_and_reasks_replace_it() {
        assert_eq!(
            Screen::Generating(JobStatus::Queued).key(),
            Screen::Generating(JobStatus::Rendering).key()
        );
        let mut reask = question(1);
        reask.reask = true;
        assert_ne!(
            Screen::Question(question(1)).key(),
            Screen::Question(reask).key()
        );
        assert_ne!(
            Screen::Question(question(1)).key(),
            Screen::Question(question(2)).key()
        );
    }
}
