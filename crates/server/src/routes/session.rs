//! The refinement flow: start, read (or resume), answer, revise one answer, go back, start over.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use contracts::{
    ANSWER_MAX_CHARS, AnswerRequest, BackRequest, IDEA_MAX_CHARS, ResumeResponse, SessionView,
    StartSessionRequest, paths,
};
use domain::{AnswerInput, StepError, StepOutcome};
use tower_cookies::Cookies;

use crate::error::{ApiError, AppJson, Result};
use crate::observability::funnel;
use crate::session::cookie::{COOKIE_NAME, SessionId};
use crate::session::{
    CurrentSession, SessionCookie, SessionData, clear_cookie, set_cookie, update,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SESSION, get(current).delete(start_over))
        .route(paths::SESSION_START, post(start))
        .route(paths::SESSION_ANSWER, post(answer))
        .route(paths::SESSION_BACK, post(back))
        .route(paths::SESSION_RESUME, get(resume))
        .route("/api/session/answers/{question}", put(revise))
}

/// Trims `value` and checks it against the field's limit, naming the field when it does not fit.
fn checked_text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ApiError::Validation(format!(
            "{field} is {chars} characters long; the limit is {max_chars}."
        )));
    }
    Ok(value.to_owned())
}

async fn start(
    State(state): State<AppState>,
    cookies: Cookies,
    headers: HeaderMap,
    AppJson(request): AppJson<StartSessionRequest>,
) -> Result<Json<SessionView>> {
    let template = state
        .catalog
        .get(&request.template_id)
        .ok_or_else(|| ApiError::TemplateNotFound(request.template_id.clone()))?;
    let idea = checked_text("initialInput", &request.initial_input, IDEA_MAX_CHARS)?;
    // The same content rule as answers (docs/adr/0004): emoji or punctuation alone is no idea.
    if !domain::has_content(&idea) {
        return Err(ApiError::Validation(
            "initialInput has no words: describe your idea in a few words (emoji and punctuation alone are not enough).".into(),
        ));
    }
    // A new start replaces any earlier session, and always gets a fresh id.
    if let Some(old) = cookies
        .get(COOKIE_NAME)
        .and_then(|c| state.signer.verify(c.value()).ok())
    {
        state.jobs.cancel(&old);
        state.sessions.delete(&old).await;
    }
    let id = SessionId::random();
    let data = SessionData::new(template.id.clone(), idea);
    state
        .sessions
        .put(&id, data.clone(), None)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    set_cookie(&cookies, &state, &headers, &id);
    funnel("session_started");
    tracing::info!(event = "session_started", session = %id.log_label(), template = %template.id, idea_chars = data.idea.chars().count(), "session started");
    view(&state, &id, &data).map(Json)
}

async fn current(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Json<SessionView>> {
    view(&state, &session.id, &session.data).map(Json)
}

/// Like `GET /api/session`, but 200 with `{"session": null}` when there is none (no cookie, an
/// expired session, or a cookie that does not verify, which is then cleared). The browser app
/// loads this first, so a first visit logs no failed request; scripts keep the 404.
async fn resume(
    State(state): State<AppState>,
    cookies: Cookies,
    session: std::result::Result<CurrentSession, ApiError>,
) -> Result<Json<ResumeResponse>> {
    match session {
        Ok(session) => Ok(Json(ResumeResponse {
            session: Some(view(&state, &session.id, &session.data)?),
        })),
        Err(ApiError::SessionNotFound) => Ok(Json(ResumeResponse { session: None })),
        Err(ApiError::InvalidSession) => {
            clear_cookie(&cookies);
            Ok(Json(ResumeResponse { session: None }))
        }
        Err(other) => Err(other),
    }
}

/// Revises answer `question` of a ready session in place (docs/adr/0005): the other two are kept,
/// a skip takes the default, and a thin answer is refused with the question's hint. A changed
/// answer drops the written prompt, so the next image is written from the brief as it now reads
/// ("new take" writes one too). Images already made stay.
async fn revise(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    path: std::result::Result<Path<u8>, axum::extract::rejection::PathRejection>,
    AppJson(request): AppJson<AnswerRequest>,
) -> Result<Json<SessionView>> {
    let Path(question) = path?;
    let text = checked_text("answer", &request.answer, ANSWER_MAX_CHARS)?;
    if request.skip && !text.is_empty() {
        return Err(ApiError::Validation(
            "Send either an answer or skip: true, not both.".into(),
        ));
    }
    let input = if request.skip {
        AnswerInput::Skip
    } else {
        AnswerInput::Text(&text)
    };
    let catalog = state.catalog.clone();
    let (changed, data) = update(state.sessions.as_ref(), &id, |data| {
        let template = catalog
            .get(&data.template_id)
            .ok_or_else(|| ApiError::TemplateNotFound(data.template_id.clone()))?;
        let changed = match data.refinement.revise(&template, question, input) {
            Err(StepError::TooThin(n)) => {
                let hint = template
                    .questions
                    .get(usize::from(n) - 1)
                    .map(|q| q.hint.trim().to_owned())
                    .unwrap_or_default();
                return Err(ApiError::AnswerTooThin { question: n, hint });
            }
            other => other?,
        };
        if changed {
            data.synthesis = None;
        }
        Ok(changed)
    })
    .await?;
    funnel("answer_revised");
    tracing::info!(
        event = "answer_revised",
        session = %id.log_label(),
        question,
        changed,
        skipped = request.skip,
        answer_chars = text.chars().count(),
        "answer revised"
    );
    view(&state, &id, &data).map(Json)
}

async fn answer(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<AnswerRequest>,
) -> Result<Json<SessionView>> {
    let text = checked_text("answer", &request.answer, ANSWER_MAX_CHARS)?;
    if request.skip && !text.is_empty() {
        return Err(ApiError::Validation(
            "Send either an answer or skip: true, not both.".into(),
        ));
    }
    let input = if request.skip {
        AnswerInput::Skip
    } else {
        AnswerInput::Text(&text)
    };
    let catalog = state.catalog.clone();
    let (outcome, data) = update(state.sessions.as_ref(), &id, |data| {
        let template = catalog
            .get(&data.template_id)
            .ok_or_else(|| ApiError::TemplateNotFound(data.template_id.clone()))?;
        let question = data.refinement.current_question();
        Ok((data.refinement.answer(&template, input)?, question))
    })
    .await?;
    let (outcome, question) = outcome;
    let recorded = data.refinement.answers().last();
    let defaulted =
        outcome != StepOutcome::Reask && recorded.is_some_and(|a| a.defaulted && !a.skipped);
    funnel("question_answered");
    if outcome == StepOutcome::Reask {
        funnel("question_reasked");
    }
    if request.skip {
        funnel("question_skipped");
    }
    if defaulted {
        funnel("question_defaulted");
    }
    tracing::info!(
        event = "question_answered",
        session = %id.log_label(),
        reasked = outcome == StepOutcome::Reask,
        defaulted,
        question = question.unwrap_or(0),
        outcome = ?outcome,
        skipped = request.skip,
        answer_chars = text.chars().count(),
        "question answered"
    );
    view(&state, &id, &data).map(Json)
}

async fn back(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<BackRequest>,
) -> Result<Json<SessionView>> {
    let (_, data) = update(state.sessions.as_ref(), &id, |data| {
        Ok(data.refinement.back_to(request.question)?)
    })
    .await?;
    funnel("answers_changed");
    tracing::info!(event = "answers_changed", session = %id.log_label(), question = request.question, "answers reopened");
    view(&state, &id, &data).map(Json)
}

/// Start over: cancels a running job, drops the state and the cookie. Idempotent.
async fn start_over(State(state): State<AppState>, cookies: Cookies) -> StatusCode {
    if let Some(id) = cookies
        .get(COOKIE_NAME)
        .and_then(|c| state.signer.verify(c.value()).ok())
    {
        state.jobs.cancel(&id);
        if state.sessions.delete(&id).await {
            funnel("start_over");
            tracing::info!(event = "start_over", session = %id.log_label(), "session ended (start over)");
        }
    }
    clear_cookie(&cookies);
    StatusCode::NO_CONTENT
}

/// The session as the client sees it, with today's quota when generations are counted (never
/// offline, where a "25 images left today" would be untrue).
fn view(state: &AppState, id: &SessionId, data: &SessionData) -> Result<SessionView> {
    let template = state
        .catalog
        .get(&data.template_id)
        .ok_or_else(|| ApiError::TemplateNotFound(data.template_id.clone()))?;
    let mut view = data.view(&template);
    view.quota = if super::generate::counts_generations(state) {
        state.quotas.left(id)
    } else {
        None
    };
    Ok(view)
}
