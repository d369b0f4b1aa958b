//! The refinement flow: start, read (or resume), answer, revise one answer, go back, start over.

use std::marker::PhantomData;

use aide::NoApi;
use aide::OperationOutput;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with, put_with};
use aide::generate::GenContext;
use aide::openapi::{Operation, Response as OaResponse, StatusCode as OaStatusCode};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use contracts::{
    ANSWER_MAX_CHARS, AnswerRequest, BackRequest, IDEA_MAX_CHARS, QuotaView, ResumeResponse,
    SessionView, StartSessionRequest, codes, paths,
};
use domain::{AnswerInput, StepError, StepOutcome};
use schemars::JsonSchema;
use tower_cookies::Cookies;

use crate::error::{ApiError, AppJson, Result};
use crate::observability::funnel;
use store::SessionId;
use store::quotas::Spender;

use crate::describe::Describe;
use crate::extract::{Client, SessionCookie};
use crate::session::{SessionData, update};
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            paths::SESSION,
            get_with(current, current_docs).delete_with(start_over, start_over_docs),
        )
        .api_route(paths::SESSION_START, post_with(start, start_docs))
        .api_route(paths::SESSION_ANSWER, post_with(answer, answer_docs))
        .api_route(paths::SESSION_BACK, post_with(back, back_docs))
        .api_route(paths::SESSION_RESUME, get_with(resume, resume_docs))
        .api_route(paths::SESSION_ANSWER_N, put_with(revise, revise_docs))
}

/// A session whose template is no longer installed (the templates changed under it).
const TEMPLATE_GONE: (u16, &str, &str) = (
    404,
    codes::TEMPLATE_NOT_FOUND,
    "the session's template is no longer installed",
);

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

fn start_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("startSession")
        .summary("Start a session with a template and an idea; sets the session cookie")
        .description(
            "Either templateId and initialInput (a new brief, at question 1), or recipeId alone \
             (a recipe link's template, idea and answers, status ready: generate at once or \
             change an answer).",
        )
        .errors(&[
            (404, codes::TEMPLATE_NOT_FOUND, "no template has that id"),
            (
                404,
                codes::RECIPE_NOT_FOUND,
                "no recipe has that id (or it expired)",
            ),
            (
                400,
                codes::INVALID_REQUEST,
                "the idea has no letter or digit, or is over its limit once trimmed",
            ),
        ])
        .link(200, "getSession", &[])
        .link(200, "answerQuestion", &[])
        .link(200, "goBack", &[])
        .link(200, "generateImage", &[])
        .link(200, "startOver", &[])
}

async fn start(
    State(state): State<AppState>,
    NoApi(cookies): NoApi<Cookies>,
    headers: HeaderMap,
    NoApi(old): NoApi<Option<SessionCookie>>,
    client: Client,
    AppJson(request): AppJson<StartSessionRequest>,
) -> Result<Json<SessionView>> {
    let (template, mut data) = match &request.recipe_id {
        Some(recipe_id) => from_recipe(&state, &request, recipe_id).await?,
        None => from_idea(&state, &request)?,
    };
    // A recipe's brief is complete at once: its prompt is written ahead, as after a third answer.
    // A new session has no reference images yet.
    let planned = state.speculator.plan(&mut data, &[]);
    // A new start replaces any earlier session (stopping its job wherever it runs), and always
    // gets a fresh id.
    if let Some(SessionCookie(old)) = old {
        state.sessions.delete(&old).await?;
    }
    let id = SessionId::random();
    state
        .sessions
        .create(&id, &data)
        .await?
        .map_err(|e| ApiError::Internal(e.into()))?;
    state.cookies.set(&cookies, &headers, &id);
    state.speculator.start(id, planned).await;
    funnel("session_started");
    tracing::info!(event = "session_started", session = %id.log_label(), template = %template.id, idea_chars = data.idea.chars().count(), from_recipe = request.recipe_id.is_some(), "session started");
    view(&state, &client, &id, &data).await.map(Json)
}

/// A new session with a template and an idea, at the first question.
fn from_idea(
    state: &AppState,
    request: &StartSessionRequest,
) -> Result<(std::sync::Arc<domain::Template>, SessionData)> {
    if request.template_id.is_empty() {
        return Err(ApiError::Validation(
            "templateId is missing: send templateId and initialInput, or a recipeId.".into(),
        ));
    }
    let template = state.catalog.find(&request.template_id)?;
    let idea = checked_text("initialInput", &request.initial_input, IDEA_MAX_CHARS)?;
    // The same content rule as answers (docs/adr/0004): emoji or punctuation alone is no idea.
    if !domain::has_content(&idea) {
        return Err(ApiError::Validation(
            "initialInput has no words: describe your idea in a few words (emoji and punctuation alone are not enough).".into(),
        ));
    }
    let data = SessionData::new(template.id.clone(), idea);
    Ok((template, data))
}

/// A new session with a recipe's template, idea and answers, ready to generate.
async fn from_recipe(
    state: &AppState,
    request: &StartSessionRequest,
    recipe_id: &str,
) -> Result<(std::sync::Arc<domain::Template>, SessionData)> {
    if !request.template_id.is_empty() || !request.initial_input.is_empty() {
        return Err(ApiError::Validation(
            "Send either recipeId, or templateId with initialInput, not both.".into(),
        ));
    }
    let recipe = state
        .recipes
        .get(recipe_id)
        .await?
        .ok_or(ApiError::RecipeNotFound)?
        .recipe;
    let template = state.catalog.find(&recipe.template_id)?;
    let data = SessionData::from_recipe(&recipe).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "a stored recipe does not have three answers"
        ))
    })?;
    Ok((template, data))
}

fn current_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getSession")
        .summary("The current session, to resume after a reload")
        .errors(&[TEMPLATE_GONE])
}

/// From this instance's copy of the view when it is still true (`views`): the hot path of a
/// browser tab or a script polling its session.
async fn current(
    State(state): State<AppState>,
    client: Client,
    SessionCookie(id): SessionCookie,
) -> Result<ViewJson<SessionView>> {
    let json = view_json(&state, &client, &id)
        .await?
        .ok_or(ApiError::SessionNotFound)?;
    Ok(ViewJson::new(json))
}

/// `n` of `PUT /api/session/answers/{n}`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct AnswerPath {
    /// The question whose answer to revise (1..3).
    #[schemars(range(min = 1, max = 3))]
    n: u8,
}

fn resume_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("resumeSession")
        .summary("The current session or null: 200 either way (what the browser app loads first)")
        .description(
            "Like GET /api/session, but answers {\"session\": null} when there is no session (no \
             cookie, an expired one, or a cookie that does not verify, which is then cleared), so \
             a first visit makes no failed request.",
        )
}

fn revise_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("reviseAnswer")
        .summary("Revise answer n (1..3) of a ready session in place; the others are kept")
        .description(
            "Takes {\"answer\": \"...\"} or {\"skip\": true}. A skip takes the template's default; \
             an answer too sparse to build on is refused (422 answer_too_thin, the message \
             carrying the question's hint) and nothing changes. A changed answer drops the \
             written prompt, so the next image follows the brief as it now reads.",
        )
        .errors(&[
            (
                400,
                codes::INVALID_REQUEST,
                "an answer over its limit, an answer with skip: true, or n not a number",
            ),
            (
                409,
                codes::REFINEMENT_INCOMPLETE,
                "not all three questions are answered yet",
            ),
            (409, codes::INVALID_STEP, "n is outside 1..3"),
            (
                422,
                codes::ANSWER_TOO_THIN,
                "too sparse to build on; nothing changed",
            ),
            (
                409,
                codes::SESSION_BUSY,
                "concurrent changes kept colliding",
            ),
            TEMPLATE_GONE,
        ])
}

/// Like `GET /api/session`, but 200 with `{"session": null}` when there is none (no cookie, an
/// expired session, or a cookie that does not verify, which is then cleared). The browser app
/// loads this first, so a first visit logs no failed request; scripts keep the 404.
async fn resume(
    State(state): State<AppState>,
    NoApi(cookies): NoApi<Cookies>,
    client: Client,
    session: std::result::Result<SessionCookie, ApiError>,
) -> Result<ViewJson<ResumeResponse>> {
    let found = match session {
        Ok(SessionCookie(id)) => view_json(&state, &client, &id).await?,
        Err(ApiError::SessionNotFound) => None,
        Err(ApiError::InvalidSession) => {
            state.cookies.clear(&cookies);
            None
        }
        Err(other) => return Err(other),
    };
    // `{"session": <the view>}` around the view's JSON as it is kept.
    let mut json = b"{\"session\":".to_vec();
    json.extend_from_slice(found.as_deref().unwrap_or(b"null"));
    json.push(b'}');
    Ok(ViewJson::new(json.into()))
}

/// Revises answer `question` of a ready session in place (docs/adr/0005): the other two are kept,
/// a skip takes the default, and a thin answer is refused with the question's hint. A changed
/// answer drops the written prompt, so the next image is written from the brief as it now reads
/// ("new take" writes one too). Images already made stay.
async fn revise(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    client: Client,
    path: std::result::Result<Path<AnswerPath>, axum::extract::rejection::PathRejection>,
    AppJson(request): AppJson<AnswerRequest>,
) -> Result<Json<SessionView>> {
    let Path(AnswerPath { n: question }) = path?;
    let text = answer_text(&request)?;
    let input = text.as_deref().map_or(AnswerInput::Skip, AnswerInput::Text);
    let catalog = state.catalog.clone();
    let speculator = state.speculator.clone();
    let references = state.references.list(&id).await?;
    let ((changed, planned), data) = update(&state.sessions, &id, |data| {
        let template = catalog.find(&data.template_id)?;
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
        // A changed brief drops the written prompt and starts writing the new one.
        let planned = if changed {
            data.synthesis = None;
            Some(speculator.plan(data, &references))
        } else {
            None
        };
        Ok((changed, planned))
    })
    .await?;
    if let Some(planned) = planned {
        state.speculator.start(id, planned).await;
    }
    funnel("answer_revised");
    tracing::info!(
        event = "answer_revised",
        session = %id.log_label(),
        question,
        changed,
        skipped = request.skip,
        answer_chars = text.as_deref().map_or(0, |t| t.chars().count()),
        "answer revised"
    );
    view(&state, &client, &id, &data).await.map(Json)
}

fn answer_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("answerQuestion")
        .summary("Answer (or skip) the current question")
        .description(
            "Answers the current question, re-asks it once when the answer is too sparse, or \
             takes the template's default (skip: true, or sparse twice).",
        )
        .errors(&[
            (
                400,
                codes::INVALID_REQUEST,
                "an answer over its limit, or an answer with skip: true",
            ),
            (
                409,
                codes::REFINEMENT_COMPLETE,
                "all three questions are answered",
            ),
            (
                409,
                codes::SESSION_BUSY,
                "concurrent changes kept colliding",
            ),
            TEMPLATE_GONE,
        ])
}

/// The answer's checked text, or `None` for a skip; an answer sent with `skip: true` is refused.
fn answer_text(request: &AnswerRequest) -> Result<Option<String>> {
    let text = checked_text("answer", &request.answer, ANSWER_MAX_CHARS)?;
    match (request.skip, text.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => Err(ApiError::Validation(
            "Send either an answer or skip: true, not both.".into(),
        )),
        (false, _) => Ok(Some(text)),
    }
}

async fn answer(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    client: Client,
    AppJson(request): AppJson<AnswerRequest>,
) -> Result<Json<SessionView>> {
    let text = answer_text(&request)?;
    let input = text.as_deref().map_or(AnswerInput::Skip, AnswerInput::Text);
    let catalog = state.catalog.clone();
    let speculator = state.speculator.clone();
    let references = state.references.list(&id).await?;
    let ((outcome, question, planned), data) = update(&state.sessions, &id, |data| {
        let template = catalog.find(&data.template_id)?;
        let question = data.refinement.current_question();
        let outcome = data.refinement.answer(&template, input)?;
        Ok::<_, ApiError>((outcome, question, speculator.plan(data, &references)))
    })
    .await?;
    state.speculator.start(id, planned).await;
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
        answer_chars = text.as_deref().map_or(0, |t| t.chars().count()),
        "question answered"
    );
    view(&state, &client, &id, &data).await.map(Json)
}

fn back_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("goBack")
        .summary("Go back to question n to change answers (later answers become prefill)")
        .errors(&[
            (
                409,
                codes::INVALID_STEP,
                "no such question, or it has not been reached",
            ),
            (
                409,
                codes::SESSION_BUSY,
                "concurrent changes kept colliding",
            ),
            TEMPLATE_GONE,
        ])
}

async fn back(
    State(state): State<AppState>,
    SessionCookie(id): SessionCookie,
    client: Client,
    AppJson(request): AppJson<BackRequest>,
) -> Result<Json<SessionView>> {
    let speculator = state.speculator.clone();
    let references = state.references.list(&id).await?;
    let (planned, data) = update(&state.sessions, &id, |data| {
        data.refinement.back_to(request.question)?;
        Ok::<_, ApiError>(speculator.plan(data, &references))
    })
    .await?;
    state.speculator.start(id, planned).await;
    funnel("answers_changed");
    tracing::info!(event = "answers_changed", session = %id.log_label(), question = request.question, "answers reopened");
    view(&state, &client, &id, &data).await.map(Json)
}

fn start_over_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("startOver")
        .summary("Start over: cancel a running job, drop the session and the cookie")
        .answers(204, &[], "dropped (idempotent: also without a session)")
}

/// Start over: drops the state (which stops its running job, on whichever instance runs it) and
/// the cookie. Idempotent.
async fn start_over(
    State(state): State<AppState>,
    NoApi(cookies): NoApi<Cookies>,
    NoApi(session): NoApi<Option<SessionCookie>>,
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

/// The session as the client sees it: its newest job, the images it made, and today's quota when
/// generations are counted (never offline, where a "25 images left today" would be untrue).
async fn view(
    state: &AppState,
    client: &Client,
    id: &SessionId,
    data: &SessionData,
) -> Result<SessionView> {
    let (mut view, _) = stored_view(state, id, data).await?;
    view.quota = quota_left(state, client, id).await?;
    Ok(view)
}

/// The view without its quota, as the store shows it now, and the unfinished job it shows.
async fn stored_view(
    state: &AppState,
    id: &SessionId,
    data: &SessionData,
) -> Result<(SessionView, Option<String>)> {
    let template = state.catalog.find(&data.template_id)?;
    let latest = state.store.jobs.latest(id).await?;
    let running_job = latest
        .job
        .as_ref()
        .filter(|job| !job.status.is_terminal())
        .map(|job| job.id.clone());
    let mut view = data.view(&template, latest.job.map(|j| j.view()), latest.images);
    view.references = state
        .references
        .list(id)
        .await?
        .into_iter()
        .map(crate::routes::references::view)
        .collect();
    Ok((view, running_job))
}

/// Today's quota figures for this session and client, when generations are counted: from this
/// instance's copy while no quota counter was written since (`views`).
async fn quota_left(
    state: &AppState,
    client: &Client,
    id: &SessionId,
) -> Result<Option<QuotaView>> {
    if !state.jobs.counts_quota() {
        return Ok(None);
    }
    let now = store::ids::now_ms();
    if let Some(kept) = state.views.quota(id, client.0, now) {
        return Ok(kept);
    }
    let stamp = state.views.stamp();
    let key = client.key();
    let spender = Spender {
        session: id,
        client: &key,
    };
    let quota = state.quotas.left(spender).await?;
    if let Some(stamp) = stamp {
        state.views.keep_quota(*id, client.0, stamp, now, quota);
    }
    Ok(quota)
}

/// The session's view as JSON with its quota, or `None` when there is no such session (unknown,
/// dropped, idle too long). From this instance's copy while it is still true; else read from the
/// store and kept (`views`).
async fn view_json(state: &AppState, client: &Client, id: &SessionId) -> Result<Option<Bytes>> {
    let json = match state.views.view(id, store::ids::now_ms()) {
        Some(kept) => kept,
        None => {
            // Taken before the reads: a write after it makes what is read a stale copy.
            let stamp = state.views.stamp();
            let Some(session) = state.sessions.get::<SessionData>(id).await? else {
                return Ok(None);
            };
            let (view, running_job) = stored_view(state, id, &session.value).await?;
            let json =
                Bytes::from(serde_json::to_vec(&view).map_err(|e| ApiError::Internal(e.into()))?);
            if let Some(stamp) = stamp {
                state.views.keep(
                    *id,
                    stamp,
                    running_job.as_deref(),
                    session.reread_by_ms,
                    json.clone(),
                );
            }
            json
        }
    };
    Ok(Some(match quota_left(state, client, id).await? {
        None => json,
        Some(quota) => with_quota(&json, &quota)?,
    }))
}

/// A view's JSON (kept without `quota`) with `"quota"` added as its last member.
fn with_quota(view: &[u8], quota: &QuotaView) -> Result<Bytes> {
    let Some((b'}', members)) = view.split_last() else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "a kept session view is not a JSON object"
        )));
    };
    let mut json = Vec::with_capacity(view.len() + 96);
    json.extend_from_slice(members);
    json.extend_from_slice(b",\"quota\":");
    serde_json::to_writer(&mut json, quota).map_err(|e| ApiError::Internal(e.into()))?;
    json.push(b'}');
    Ok(json.into())
}

/// A JSON body written ahead (a kept view), documented in the API description as `T`.
struct ViewJson<T> {
    json: Bytes,
    documented: PhantomData<T>,
}

impl<T> ViewJson<T> {
    fn new(json: Bytes) -> ViewJson<T> {
        ViewJson {
            json,
            documented: PhantomData,
        }
    }
}

impl<T> IntoResponse for ViewJson<T> {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.json,
        )
            .into_response()
    }
}

impl<T: JsonSchema> OperationOutput for ViewJson<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<OaResponse> {
        Json::<T>::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<OaStatusCode>, OaResponse)> {
        Json::<T>::inferred_responses(ctx, operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_view_with_its_quota_reads_as_the_view_with_that_quota() {
        let mut view: SessionView = serde_json::from_value(serde_json::json!({
            "templateId": "t", "templateName": "T", "idea": "a cat", "status": "refining",
            "answers": [], "defaultAspectRatio": "1:1", "images": [], "canReusePrompt": false,
            "references": []
        }))
        .expect("a view");
        let kept = serde_json::to_vec(&view).expect("JSON");
        let quota = QuotaView {
            session_left: Some(3),
            client_left: None,
            global_left: Some(90),
            resets_in_secs: 60,
        };
        let served: SessionView =
            serde_json::from_slice(&with_quota(&kept, &quota).expect("spliced")).expect("JSON");
        view.quota = Some(quota);
        assert_eq!(served, view);
        assert!(with_quota(b"[]", &quota).is_err());
    }
}
