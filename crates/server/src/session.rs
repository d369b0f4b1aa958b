//! Server-side session state, the extractor that loads it from the signed cookie, and the view a
//! client sees. The synthesized prompt lives here and is never put into a [`SessionView`].

pub mod cookie;
pub mod store;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use contracts::{
    AnswerView, ApiErrorBody, AspectRatio, ImageView, JobStatus, JobView, QUESTION_COUNT,
    QuestionView, SessionStatus, SessionView,
};
use domain::{Refinement, Template};
use serde::{Deserialize, Serialize};
use tower_cookies::{Cookie, Cookies};

use crate::error::ApiError;
use crate::state::AppState;
use cookie::{COOKIE_NAME, SessionId};
use store::{SessionStore, StoreError};

/// Finished jobs kept per session (the running one is always kept).
const JOBS_KEPT: usize = 20;
/// Cookie lifetime; the server-side idle timeout usually ends a session first.
const COOKIE_MAX_AGE_DAYS: i64 = 30;

/// Everything the server remembers about one person's flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    pub template_id: String,
    pub idea: String,
    pub refinement: Refinement,
    /// The newest written prompt, for "new take (same prompt)".
    pub synthesis: Option<StoredSynthesis>,
    /// Generation jobs, oldest first.
    pub jobs: Vec<JobRecord>,
}

/// A written prompt with the lines a person may see.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSynthesis {
    /// Secret: never in a response, header or INFO log.
    pub prompt: String,
    pub summary: String,
    pub alt_text: String,
}

impl std::fmt::Debug for StoredSynthesis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSynthesis")
            .field("prompt_chars", &self.prompt.chars().count())
            .finish_non_exhaustive()
    }
}

/// One generation job as the session records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub status: JobStatus,
    pub aspect_ratio: AspectRatio,
    pub reuse_prompt: bool,
    pub image: Option<ImageView>,
    pub error: Option<ApiErrorBody>,
}

impl JobRecord {
    pub fn view(&self) -> JobView {
        JobView {
            job_id: self.id.clone(),
            status: self.status,
            image: self.image.clone(),
            error: self.error.clone(),
        }
    }
}

impl SessionData {
    pub fn new(template_id: String, idea: String) -> SessionData {
        SessionData {
            template_id,
            idea,
            refinement: Refinement::new(),
            synthesis: None,
            jobs: Vec::new(),
        }
    }

    /// The job still running, if any.
    pub fn active_job(&self) -> Option<&JobRecord> {
        self.jobs.iter().rev().find(|j| !j.status.is_terminal())
    }

    pub fn job(&self, id: &str) -> Option<&JobRecord> {
        self.jobs.iter().find(|j| j.id == id)
    }

    pub fn job_mut(&mut self, id: &str) -> Option<&mut JobRecord> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// Adds a job, dropping the oldest finished ones beyond [`JOBS_KEPT`].
    pub fn push_job(&mut self, job: JobRecord) {
        self.jobs.push(job);
        while self.jobs.len() > JOBS_KEPT {
            match self.jobs.iter().position(|j| j.status.is_terminal()) {
                Some(i) => self.jobs.remove(i),
                None => break,
            };
        }
    }

    /// What the client sees. Built field by field so the prompt cannot slip in.
    pub fn view(&self, template: &Template) -> SessionView {
        let r = &self.refinement;
        let question = r.current_question().and_then(|index| {
            let q = template.questions.get(usize::from(index) - 1)?;
            Some(QuestionView {
                index,
                total: QUESTION_COUNT,
                text: q.text.clone(),
                hint: q.hint.clone(),
                reask: r.is_reasking(),
                previous_answer: r.previous_answer(index).map(str::to_owned),
            })
        });
        let answers = r
            .answers()
            .iter()
            .zip(&template.questions)
            .zip(1..)
            .map(|((a, q), index)| AnswerView {
                index,
                question: q.text.clone(),
                hint: q.hint.clone(),
                answer: a.text.clone(),
                defaulted: a.defaulted,
                skipped: a.skipped,
            })
            .collect();
        SessionView {
            template_id: self.template_id.clone(),
            template_name: template.name.clone(),
            idea: self.idea.clone(),
            status: if r.is_ready() {
                SessionStatus::Ready
            } else {
                SessionStatus::Refining
            },
            question,
            answers,
            default_aspect_ratio: template.default_aspect_ratio,
            job: self.jobs.last().map(JobRecord::view),
            last_image: self.jobs.iter().rev().find_map(|j| j.image.clone()),
            images: self
                .jobs
                .iter()
                .rev()
                .filter_map(|j| j.image.clone())
                .collect(),
            can_reuse_prompt: self.synthesis.is_some(),
            quota: None,
        }
    }
}

/// The session a request's cookie names, loaded from the store.
pub struct CurrentSession {
    pub id: SessionId,
    pub data: SessionData,
}

/// Reads and verifies the cookie without loading the session.
pub struct SessionCookie(pub SessionId);

impl FromRequestParts<AppState> for SessionCookie {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let cookies = Cookies::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| ApiError::Internal(anyhow::anyhow!(msg)))?;
        let value = cookies.get(COOKIE_NAME).ok_or(ApiError::SessionNotFound)?;
        state
            .signer
            .verify(value.value())
            .map(SessionCookie)
            .map_err(|_| ApiError::InvalidSession)
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let SessionCookie(id) = SessionCookie::from_request_parts(parts, state).await?;
        match state.sessions.get(&id).await {
            Some(found) => Ok(CurrentSession {
                id,
                data: found.value,
            }),
            None => Err(ApiError::SessionNotFound),
        }
    }
}

/// Applies `change` to the stored session, retrying when another request wrote in between.
/// Returns what `change` returned and the data as saved.
pub async fn update<R>(
    store: &dyn SessionStore,
    id: &SessionId,
    mut change: impl FnMut(&mut SessionData) -> Result<R, ApiError>,
) -> Result<(R, SessionData), ApiError> {
    for _ in 0..5 {
        let current = store.get(id).await.ok_or(ApiError::SessionNotFound)?;
        let mut data = current.value;
        let result = change(&mut data)?;
        match store.put(id, data.clone(), Some(current.version)).await {
            Ok(_) => return Ok((result, data)),
            Err(StoreError::Conflict) => continue,
        }
    }
    Err(ApiError::SessionBusy)
}

/// Sets the signed session cookie: HttpOnly, SameSite=Lax, Path=/, Secure behind https.
pub fn set_cookie(cookies: &Cookies, state: &AppState, headers: &HeaderMap, id: &SessionId) {
    let secure = is_https(state, headers);
    let cookie = Cookie::build((COOKIE_NAME, state.signer.sign(id)))
        .http_only(true)
        .same_site(tower_cookies::cookie::SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(tower_cookies::cookie::time::Duration::days(
            COOKIE_MAX_AGE_DAYS,
        ))
        .build();
    cookies.add(cookie);
}

/// True when a trusted proxy says the request arrived over https (cookies then get `Secure`).
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.session.trust_forwarded_proto
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Expires the session cookie in the browser.
pub fn clear_cookie(cookies: &Cookies) {
    cookies.remove(Cookie::build((COOKIE_NAME, "")).path("/").build());
}
