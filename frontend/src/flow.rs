//! The page's view state: which screen a session and an address show, how server answers move it,
//! and where the browser's history should point.
//!
//! Pure data and functions over the `contracts` types, with no browser APIs, so it runs (and is
//! unit-tested) natively. The server owns the flow; the address (a client route) only chooses how
//! to look at it: the start, one question, one answer to revise, the workspace, a recipe link.

use contracts::{
    AnswerView, ApiErrorBody, ImageView, JobStatus, JobView, QUESTION_COUNT, QuestionView,
    ReferenceView, SessionStatus, SessionView,
};

/// A client route: what the address bar says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Route {
    /// `/`: the template cards and the idea.
    #[default]
    Start,
    /// `/questions/{n}`: question n (asked, or revised once all three are in).
    Question(u8),
    /// `/workspace`: the brief, the stage, the image's actions and the session's images.
    Workspace,
    /// `/r/{recipeId}`: a recipe link.
    Recipe(String),
    /// Anything else.
    NotFound,
}

impl Route {
    /// Reads a pathname (`/questions/2`); a trailing slash is ignored.
    pub fn parse(path: &str) -> Route {
        let path = path.trim_end_matches('/');
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        match parts.as_slice() {
            [] | [""] => Route::Start,
            ["workspace"] => Route::Workspace,
            ["questions", n] => match n.parse::<u8>() {
                Ok(n) if (1..=QUESTION_COUNT).contains(&n) => Route::Question(n),
                _ => Route::NotFound,
            },
            ["r", id] if !id.is_empty() => Route::Recipe((*id).to_owned()),
            _ => Route::NotFound,
        }
    }

    /// The pathname for this route.
    pub fn path(&self) -> String {
        match self {
            Route::Start => "/".to_owned(),
            Route::Question(n) => format!("/questions/{n}"),
            Route::Workspace => "/workspace".to_owned(),
            Route::Recipe(id) => format!("/r/{id}"),
            Route::NotFound => "/not-found".to_owned(),
        }
    }

    /// Position along the flow (start 0, questions 1..3, workspace 4): moving to a later step adds
    /// a history entry, moving to an earlier one replaces the current entry, so Back never lands
    /// on a step the server has already left.
    pub fn step(&self) -> u8 {
        match self {
            Route::Start => 0,
            Route::Question(n) => *n,
            Route::Workspace => QUESTION_COUNT + 1,
            Route::Recipe(_) | Route::NotFound => QUESTION_COUNT + 2,
        }
    }
}

/// One answer of a ready session, shown as its question page to change it in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub index: u8,
    pub total: u8,
    pub text: String,
    pub hint: String,
    /// The person's own words, to prefill the field; `None` when the default is used.
    pub answer: Option<String>,
    /// The answer in use (the person's words or the default), to show what stands now.
    pub current: String,
}

impl Revision {
    fn of(answer: &AnswerView) -> Revision {
        Revision {
            index: answer.index,
            total: QUESTION_COUNT,
            text: answer.question.clone(),
            hint: answer.hint.clone(),
            answer: (!answer.defaulted).then(|| answer.answer.clone()),
            current: answer.answer.clone(),
        }
    }
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The session is being fetched (first paint, or after a reload).
    Loading,
    /// The template cards and the idea (with a way back to a session in progress, if any).
    Start,
    /// One question waiting for an answer.
    Question(QuestionView),
    /// One answer of a ready session, to change in place.
    Revise(Revision),
    /// The workspace: brief, stage, actions and the session's images.
    Workspace,
    /// A recipe link.
    Recipe(String),
    /// No such page.
    NotFound,
}

/// What decides whether a screen is drawn afresh (and focus moves): the kind of screen, plus the
/// question and its re-ask state. The workspace is one key: a job moving along, an image arriving
/// or a failure only update the parts of it that change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenKey {
    Loading,
    Start,
    Question { index: u8, reask: bool },
    Revise { index: u8 },
    Workspace,
    Recipe,
    NotFound,
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
            Screen::Revise(r) => ScreenKey::Revise { index: r.index },
            Screen::Workspace => ScreenKey::Workspace,
            Screen::Recipe(_) => ScreenKey::Recipe,
            Screen::NotFound => ScreenKey::NotFound,
        }
    }
}

/// What else must happen for an address to show what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// The address names a step this session cannot show: replace it with this one.
    Redirect(Route),
    /// The address names an earlier question of a session still being asked: the server goes
    /// back to it (`POST /api/session/back`), as the stepper's Back button does.
    GoBack(u8),
}

/// The screen for an address, and what must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub screen: Screen,
    pub then: Option<Then>,
}

/// Where the workspace's stage stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// All answers are in, nothing made yet: the Create button.
    Empty,
    /// A job is running: placeholders in the chosen ratio.
    Working(JobStatus),
    /// The newest job failed; earlier images stay.
    Failed(ApiErrorBody),
    /// The newest job made an image.
    Done,
}

/// Where the page stands: the session the server last described, and whether it has been loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// False until the first session load has answered.
    pub loaded: bool,
    /// The server's latest word on the session; `None` when there is none.
    pub session: Option<SessionView>,
}

impl Flow {
    /// The screen `route` shows for this flow, and what must follow.
    pub fn resolve(&self, route: &Route) -> Resolved {
        let show = |screen| Resolved { screen, then: None };
        if !self.loaded {
            return show(Screen::Loading);
        }
        let redirect = |to: Route| Resolved {
            screen: self.resolve(&to).screen,
            then: Some(Then::Redirect(to)),
        };
        match route {
            Route::Start => show(Screen::Start),
            Route::Recipe(id) => show(Screen::Recipe(id.clone())),
            Route::NotFound => show(Screen::NotFound),
            Route::Question(n) => {
                let Some(session) = &self.session else {
                    return redirect(Route::Start);
                };
                match (&session.status, &session.question) {
                    (SessionStatus::Refining, Some(q)) if q.index == *n => {
                        show(Screen::Question(q.clone()))
                    }
                    (SessionStatus::Refining, Some(q)) if q.index > *n => Resolved {
                        screen: Screen::Question(q.clone()),
                        then: Some(Then::GoBack(*n)),
                    },
                    (SessionStatus::Refining, Some(q)) => redirect(Route::Question(q.index)),
                    (SessionStatus::Refining, None) => redirect(Route::Start),
                    (SessionStatus::Ready, _) => {
                        match session.answers.iter().find(|a| a.index == *n) {
                            Some(answer) => show(Screen::Revise(Revision::of(answer))),
                            None => redirect(Route::Workspace),
                        }
                    }
                }
            }
            Route::Workspace => match self.home() {
                Route::Workspace => show(Screen::Workspace),
                other => redirect(other),
            },
        }
    }

    /// The step this session is at: the start without one, the waiting question, or the workspace.
    pub fn home(&self) -> Route {
        match &self.session {
            None => Route::Start,
            Some(s) => match (&s.status, &s.question) {
                (SessionStatus::Refining, Some(q)) => Route::Question(q.index),
                (SessionStatus::Refining, None) => Route::Start,
                (SessionStatus::Ready, _) => Route::Workspace,
            },
        }
    }

    /// Where the workspace's stage stands.
    pub fn stage(&self) -> Stage {
        let Some(session) = &self.session else {
            return Stage::Empty;
        };
        match &session.job {
            Some(job) if !job.status.is_terminal() => Stage::Working(job.status),
            Some(JobView {
                status: JobStatus::Failed,
                error: Some(error),
                ..
            }) => Stage::Failed(error.clone()),
            _ if self.images().is_empty() => Stage::Empty,
            _ => Stage::Done,
        }
    }

    /// Every image of the session, newest first.
    pub fn images(&self) -> &[ImageView] {
        self.session.as_ref().map_or(&[], |s| s.images.as_slice())
    }

    /// Records a session the server returned (start, answer, revise, back, or a reload).
    pub fn on_session(&mut self, view: SessionView) {
        self.session = Some(view);
        self.loaded = true;
    }

    /// Records that there is no session (none yet, expired, or started over).
    pub fn on_no_session(&mut self) {
        self.session = None;
        self.loaded = true;
    }

    /// Records a job the server reported (a new one, or a poll of the running one). A new image
    /// joins the front of the session's images, as the server lists it.
    pub fn on_job(&mut self, job: JobView) {
        let Some(session) = &mut self.session else {
            return;
        };
        // A job's images in order (older servers send only `image`), ahead of the earlier ones.
        let made = if job.images.is_empty() {
            job.image.iter().cloned().collect()
        } else {
            job.images.clone()
        };
        if let Some(first) = made.first() {
            session.last_image = Some(first.clone());
            let new: Vec<ImageView> = made
                .iter()
                .filter(|m| !session.images.iter().any(|i| i.url == m.url))
                .cloned()
                .collect();
            session.images.splice(0..0, new);
            // An image exists only once a prompt was written.
            session.can_reuse_prompt = true;
        }
        session.job = Some(job);
    }

    /// Records that an image was deleted: it leaves the session's images, the newest job's
    /// batch and `lastImage`, so nothing on the page still points at its bytes.
    pub fn on_image_deleted(&mut self, url: &str) {
        let Some(session) = &mut self.session else {
            return;
        };
        session.images.retain(|i| i.url != url);
        if session.last_image.as_ref().is_some_and(|i| i.url == url) {
            session.last_image = session.images.first().cloned();
        }
        if let Some(job) = &mut session.job {
            job.images.retain(|i| i.url != url);
            if job.image.as_ref().is_some_and(|i| i.url == url) {
                job.image = job.images.first().cloned();
            }
        }
    }

    /// Records a reference the server stored, after those already there (upload order).
    pub fn on_reference_added(&mut self, reference: ReferenceView) {
        if let Some(session) = &mut self.session
            && !session
                .references
                .iter()
                .any(|r| r.reference_id == reference.reference_id)
        {
            session.references.push(reference);
        }
    }

    /// Records that a reference was removed.
    pub fn on_reference_removed(&mut self, reference_id: &str) {
        if let Some(session) = &mut self.session {
            session
                .references
                .retain(|r| r.reference_id != reference_id);
        }
    }

    /// The session's reference images, in upload order.
    pub fn references(&self) -> &[ReferenceView] {
        self.session
            .as_ref()
            .map_or(&[], |s| s.references.as_slice())
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
    pub fn default_ratio(&self) -> Option<contracts::AspectRatio> {
        let session = self.session.as_ref()?;
        Some(
            session
                .last_image
                .as_ref()
                .map_or(session.default_aspect_ratio, |image| image.aspect_ratio),
        )
    }

    /// True when `other` (the server's view, or its absence) is a different state of the flow
    /// from the one drawn: another step, other answers, another job, other references or images. A job's progress (and the
    /// image it makes) is followed by polling, and the quota's clock countdown is no difference.
    pub fn differs_from(&self, other: Option<&SessionView>) -> bool {
        let key = |s: &SessionView| {
            (
                s.template_id.clone(),
                s.idea.clone(),
                s.status,
                s.question.clone(),
                s.answers.clone(),
                // Which job, not how far it got: this tab follows its progress itself.
                s.job.as_ref().map(|j| j.job_id.clone()),
                // References added or removed in another tab change what the next image gets.
                s.references
                    .iter()
                    .map(|r| r.reference_id.clone())
                    .collect::<Vec<_>>(),
                // An image deleted in another tab is gone from the server: its URL answers 404.
                s.images
                    .iter()
                    .map(|i| i.image_id.clone())
                    .collect::<Vec<_>>(),
            )
        };
        self.session.as_ref().map(key) != other.map(key)
    }

    /// True when an answer changed after the newest image's prompt was written: the next image
    /// (a new take included) follows the brief as it reads now.
    pub fn brief_changed(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| !s.can_reuse_prompt && !s.images.is_empty())
    }
}

/// How long the next `GET /api/generate/{jobId}?wait=` may hold. The server answers early only when
/// the job finishes, so while the prompt is being written a short wait lets the page notice the
/// switch to rendering; once rendering, only the end is left to wait for.
pub fn poll_wait_secs(status: JobStatus) -> u64 {
    match status {
        JobStatus::Queued | JobStatus::Synthesizing => 2,
        JobStatus::Rendering | JobStatus::Storing | JobStatus::Succeeded | JobStatus::Failed => 25,
    }
}

#[cfg(test)]
mod tests;
