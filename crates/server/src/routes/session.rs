//! The refinement flow: start, read, answer, go back, start over.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::{
    ANSWER_MAX_CHARS, AnswerRequest, BackRequest, IDEA_MAX_CHARS, SessionView, StartSessionRequest,
    paths,
};
use domain::{AnswerInput, StepOutcome};
use tower_cookies::Cookies;

use store::SessionId;

use crate::error::{ApiError, AppJson, Result};
use crate::extract::{CurrentSession, SessionCookie};
use crate::observability::funnel;
use crate::session::{SessionData, update};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SESSION, get(current).delete(start_over))
        .route(paths::SESSION_START, post(start))
        .route(paths::SESSION_ANSWER, post(answer))
        .route(paths::SESSION_BACK, post(back))
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
    old: Option<SessionCookie>,
    AppJson(request): AppJson<StartSessionRequest>,
) -> Result<Json<SessionView>> {
    let template = state
        .catalog
        .get(&request.template_id)
        .ok_or_else(|| ApiError::TemplateNotFound(request.template_id.clone()))?;
    let idea = checked_text("initialInput", &request.initial_input, IDEA_MAX_CHARS)?;
    if idea.is_empty() {
        return Err(ApiError::Validation(
            "initialInput is empty: describe your idea in a few words.".into(),
        ));
    }
    // A new start replaces any earlier session (stopping its job wherever it runs), and always
    // gets a fresh id.
    if let Some(SessionCookie(old)) = old {
        state.sessions.delete(&old).await?;
    }
    let id = SessionId::random();
    let data = SessionData::new(template.id.clone(), idea);
    state
        .sessions
        .create(&id, &data)
        .await?
        .map_err(|e| ApiError::Internal(e.into()))?;
    state.cookies.set(&cookies, &headers, &id);
    funnel("session_started");
    tracing::info!(event = "session_started", session = %id.log_label(), template = %template.id, idea_chars = data.idea.chars().count(), "session started");
    view(&state, &id, &data).await.map(Json)
}

async fn current(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Json<SessionView>> {
    view(&state, &session.id, &session.data).await.map(Json)
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
    let (outcome, data) = update(&state.sessions, &id, |data| {
        let template = catalog
            .get(&data.template_id)
            .ok_or_else(|| ApiError::TemplateNotFound(data.template_id.clone()))?;
        let question = data.refinement.current_question();
        Ok::<_, ApiError>((data.refinement.answer(&template, input)?, question))
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
    view(&state, &id, &data).await.map(Json)
}

async fn back(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    AppJson(request): AppJson<BackRequest>,
) -> Result<Json<SessionView>> {
    let (_, data) = update(&state.sessions, &id, |data| {
        Ok::<_, ApiError>(data.refinement.back_to(request.question)?)
    })
    .await?;
    funnel("answers_changed");
    tracing::info!(event = "answers_changed", session = %id.log_label(), question = request.question, "answers reopened");
    view(&state, &id, &data).await.map(Json)
}

/// Start over: drops the state (which stops its running job, on whichever instance runs it) and
/// the cookie. Idempotent.
async fn start_over(
    State(state): State<AppState>,
    cookies: Cookies,
    session: Option<SessionCookie>,
) -> Result<StatusCode> {
    if let Some(SessionCookie(id)) = session
        && state.sessions.delete(&id).await?
    {
        funnel("start_over");
        tracing::info!(event = "start_over", session = %id.log_label(), "session ended (start over)");
    }
    state.cookies.clear(&cookies);
    Ok(StatusCode::NO_CONTENT)
}

/// The session as the client sees it, with its newest job and image and today's quota.
async fn view(state: &AppState, id: &SessionId, data: &SessionData) -> Result<SessionView> {
    let template = state
        .catalog
        .get(&data.template_id)
        .ok_or_else(|| ApiError::TemplateNotFound(data.template_id.clone()))?;
    let latest = state.store.jobs.latest(id).await?;
    let mut view = data.view(&template, latest.job.map(|j| j.view()), latest.image);
    view.quota = state.quotas.left(id).await?;
    Ok(view)
}
