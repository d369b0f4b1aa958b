//! `GET /api/generate/{jobId}/events`: a job's progress as it happens, as server-sent events.
//! One `stage` event per change (its data the job view), then one `done` event with the finished
//! view, and the stream ends. Each event's id names the state it reports, so a reconnect with
//! `Last-Event-ID` sends only what came after it, and never loses the `done` event. It follows the
//! job through the store's wake-ups, so it works on whichever instance runs the job.

use std::time::Duration;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use contracts::{JobStatus, JobView, codes, paths};
use futures::stream::{self, Stream};
use schemars::JsonSchema;
use serde::Deserialize;
use store::SessionId;

use crate::describe::Describe;
use crate::error::Result;
use crate::extract::CurrentSession;
use crate::state::AppState;

/// Longest one stream stays open; a job still running then is followed by the reconnect
/// (EventSource reconnects by itself, sending `Last-Event-ID`).
const STREAM_LIMIT: Duration = Duration::from_secs(300);

/// How often a comment line keeps an idle stream (and the proxies on its way) open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new().api_route(paths::JOB_EVENTS, get_with(events, events_docs))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct JobPath {
    #[serde(rename = "jobId")]
    job_id: String,
}

fn events_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("jobEvents")
        .summary("A job's stages as server-sent events, ending with `done`")
        .description(
            "`text/event-stream`: a `stage` event per change (queued, synthesizing, rendering, \
             storing), whose data is the JobView, then a `done` event with the finished JobView, \
             and the stream ends. Event ids name the state reported: reconnect with \
             `Last-Event-ID` to get only what came after (the `done` event is never lost). A \
             reconnect after `done` is answered 204, which tells EventSource to stop. Comment \
             lines keep an idle stream open; a stream lasts at most 300 s (reconnect to go on).",
        )
        .answers(200, &["text/event-stream"], "the job's events")
        .answers(
            204,
            &[],
            "the `done` event was already received (Last-Event-ID)",
        )
        .errors(&[(404, codes::JOB_NOT_FOUND, "this session has no such job")])
}

/// The id of the event that reports `view`: the stage, and while rendering variations how many
/// are finished (`rendering-2-of-4`), so each finished variation is an event of its own.
fn event_id(view: &JobView) -> String {
    match (view.status, view.progress) {
        (status, _) if status.is_terminal() => "done".to_owned(),
        (JobStatus::Queued, _) => "queued".to_owned(),
        (JobStatus::Synthesizing, _) => "synthesizing".to_owned(),
        (JobStatus::Rendering, Some(p)) if p.total > 1 => {
            format!("rendering-{}-of-{}", p.done, p.total)
        }
        (JobStatus::Storing, _) => "storing".to_owned(),
        _ => "rendering".to_owned(),
    }
}

fn event(view: &JobView) -> Event {
    let name = if view.status.is_terminal() {
        "done"
    } else {
        "stage"
    };
    let event = Event::default().event(name).id(event_id(view));
    // A JobView always serializes; the fallback keeps the stream alive with an empty object.
    event
        .json_data(view)
        .unwrap_or_else(|_| Event::default().event(name).id(event_id(view)).data("{}"))
}

/// Where a stream is: what it reported last, and whether it is over.
struct Following {
    state: AppState,
    session: SessionId,
    job_id: String,
    last_id: Option<String>,
    /// The first read, made before answering so an unknown job gets its 404.
    first: Option<JobView>,
    until: tokio::time::Instant,
    over: bool,
}

impl Following {
    /// The next event, or `None` when the stream should end.
    async fn next(&mut self) -> Option<Event> {
        if self.over {
            return None;
        }
        let view = match self.first.take() {
            Some(view) => view,
            None => {
                let left = self
                    .until
                    .saturating_duration_since(tokio::time::Instant::now());
                let last = self.last_id.clone();
                let waited = self
                    .state
                    .jobs
                    .wait_until(&self.session, &self.job_id, left, |view| {
                        last.as_deref() != Some(event_id(view).as_str())
                    })
                    .await;
                // The job or its session is gone (start over): end the stream; a reconnect
                // gets the 404 that says so.
                waited.ok()?
            }
        };
        let id = event_id(&view);
        if self.last_id.as_deref() == Some(id.as_str()) {
            // Nothing new before the time limit or shutdown: end, and let the client reconnect.
            self.over = true;
            return None;
        }
        self.over = view.status.is_terminal();
        self.last_id = Some(id);
        Some(event(&view))
    }
}

async fn events(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(JobPath { job_id }): Path<JobPath>,
    headers: HeaderMap,
) -> Result<Response> {
    let first = state
        .jobs
        .wait(&session.id, &job_id, Duration::ZERO)
        .await?;
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if first.status.is_terminal() && last_id.as_deref() == Some("done") {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // A reconnect at the stage it already saw waits for the next one.
    let unseen = last_id.as_deref() != Some(event_id(&first).as_str());
    let following = Following {
        state,
        session: session.id,
        job_id,
        last_id,
        first: unseen.then_some(first),
        until: tokio::time::Instant::now() + STREAM_LIMIT,
        over: false,
    };
    let stream = events_of(following);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Proxies (nginx, the Cloudflare tunnel) pass each event on at once instead of buffering.
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(response)
}

fn events_of(
    following: Following,
) -> impl Stream<Item = std::result::Result<Event, std::convert::Infallible>> {
    stream::unfold(following, |mut following| async move {
        let event = following.next().await?;
        Some((Ok(event), following))
    })
}
