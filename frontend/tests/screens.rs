//! Component tests: one screen at a time, mounted in headless Chromium with its real actions
//! and HTTP client (run by scripts/test-components).
//!
//! The API is faked at the browser's `fetch`: each test says what a path answers (in the
//! server's wire format, envelope included) and reads back the requests the page sent. Every
//! wait polls the DOM against a deadline.
//!
//! Enter in a one-line field submits its form by the browser's implicit submission, which page
//! scripts cannot trigger with a synthetic key event; the tests submit the form the way implicit
//! submission does (`requestSubmit`), and the e2e suite presses the real key.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use contracts::{
    AnswerView, ApiErrorBody, AspectRatio, GenerateRequest, ImageSize, ImageView, JobStatus,
    JobView, QuestionView, QuotaView, SessionStatus, SessionView, TemplateSummary, codes,
};
use frontend::actions::Actions;
use frontend::components::RatioChoice;
use frontend::screens::{QuestionScreen, StartScreen, WorkspaceScreen};
use frontend::state::AppState;
use leptos::prelude::*;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function fake_api(routes) {
    const answers = JSON.parse(routes);
    const sent = [];
    window.fetch = async (input, init) => {
        const request = new Request(input, init);
        const path = new URL(request.url).pathname;
        const key = request.method + ' ' + path;
        sent.push(JSON.stringify({ route: key, body: await request.text() }));
        const answer = answers[key] || {
            status: 404,
            body: { error: 'No such route.', code: 'not_found' },
        };
        return new Response(JSON.stringify(answer.body), {
            status: answer.status,
            headers: { 'content-type': 'application/json' },
        });
    };
    return sent;
}
"#)]
extern "C" {
    /// Replaces `window.fetch`; returns the live list of requests sent (JSON strings).
    fn fake_api(routes: &str) -> js_sys::Array;
}

/// The fake API: what each `METHOD /path` answers, and what the page sent.
struct FakeApi {
    sent: js_sys::Array,
}

impl FakeApi {
    fn answering(routes: Value) -> FakeApi {
        FakeApi {
            sent: fake_api(&routes.to_string()),
        }
    }

    /// The bodies sent to `route` (e.g. `POST /api/session/answer`), parsed, in order.
    fn bodies(&self, route: &str) -> Vec<Value> {
        self.sent
            .iter()
            .filter_map(|entry| entry.as_string())
            .filter_map(|entry| serde_json::from_str::<Value>(&entry).ok())
            .filter(|entry| entry["route"] == route)
            .map(|entry| {
                serde_json::from_str(entry["body"].as_str().unwrap_or_default())
                    .unwrap_or(Value::Null)
            })
            .collect()
    }
}

fn envelope(status: u16, code: &str, error: &str) -> Value {
    json!({ "status": status, "body": { "error": error, "code": code } })
}

/// A screen mounted in its own element; unmounted and removed when dropped.
struct Mounted {
    root: web_sys::HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.root.remove();
    }
}

/// Mounts what `screen` draws, with the app state and actions a screen gets from `Home`.
fn mount<V: IntoView + 'static>(screen: impl FnOnce(AppState, Actions) -> V + 'static) -> Mounted {
    let root = document()
        .create_element("div")
        .expect("a div")
        .unchecked_into::<web_sys::HtmlElement>();
    document()
        .body()
        .expect("a body")
        .append_child(&root)
        .expect("appended");
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let app = AppState::provide();
        screen(app, Actions::new(app))
    });
    Mounted {
        root,
        _handle: Box::new(handle),
    }
}

fn find(selector: &str) -> Option<web_sys::HtmlElement> {
    document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into().ok())
}

fn text(selector: &str) -> String {
    find(selector)
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// Polls `condition` every animation-frame-ish 20 ms until it holds; fails after 5 s naming `what`.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = js_sys::Date::now() + 5_000.0;
    while !condition() {
        assert!(
            js_sys::Date::now() < deadline,
            "timed out waiting for {what}"
        );
        pause(Duration::from_millis(20)).await;
    }
}

async fn pause(duration: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(
            &resolve,
            duration.as_millis() as i32,
        );
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The `value` of a form field.
fn field_value(selector: &str) -> String {
    find(selector)
        .and_then(|field| js_sys::Reflect::get(&field, &"value".into()).ok())
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

/// Types `value` into the field, as the `input` event reports typing.
fn type_into(selector: &str, value: &str) {
    let field = find(selector).unwrap_or_else(|| panic!("no {selector}"));
    js_sys::Reflect::set(&field, &"value".into(), &value.into()).expect("value set");
    let input = web_sys::Event::new("input").expect("an input event");
    field.dispatch_event(&input).expect("dispatched");
}

/// Submits the form around `selector` as Enter's implicit submission does.
fn press_enter_in(selector: &str) {
    let field = find(selector).unwrap_or_else(|| panic!("no {selector}"));
    let form = field
        .closest("form")
        .ok()
        .flatten()
        .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        .unwrap_or_else(|| panic!("{selector} is not in a form"));
    form.request_submit().expect("submitted");
}

fn click(selector: &str) {
    find(selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .click();
}

#[wasm_bindgen_test]
async fn the_start_screen_checks_the_idea_sends_it_and_shows_a_refusal() {
    // Arrange
    let api = FakeApi::answering(json!({
        "POST /api/session/start": envelope(404, codes::TEMPLATE_NOT_FOUND, "There is no such template. Pick one of the styles shown."),
    }));
    let templates = vec![TemplateSummary {
        id: "general-cinematic".into(),
        name: "General cinematic".into(),
        description: "Film stills".into(),
        default_aspect_ratio: AspectRatio::Landscape16x9,
        question_count: 3,
        example_url: "/api/templates/general-cinematic/example?v=1".into(),
    }];
    let _screen = mount(move |_, actions| {
        view! {
            <StartScreen
                templates=Signal::stored(Some(Ok(templates)))
                template_id=RwSignal::new("general-cinematic".to_owned())
                idea=RwSignal::new(String::new())
                idea_max=Signal::stored(500)
                actions
            />
        }
    });

    // It renders: the style, the idea field and its counter.
    wait_until("the template radio", || {
        find("[data-testid=template-general-cinematic]").is_some()
    })
    .await;
    assert_eq!(text("[data-testid=idea-counter]"), "0 / 500 characters");
    let example = find("[data-testid=template-example-general-cinematic]").expect("the example");
    assert_eq!(
        example.get_attribute("src").as_deref(),
        Some("/api/templates/general-cinematic/example?v=1")
    );
    assert_eq!(example.get_attribute("loading").as_deref(), Some("lazy"));
    assert!(!example.get_attribute("alt").unwrap_or_default().is_empty());

    // An empty idea is not sent; the field says why.
    press_enter_in("[data-testid=idea-input]");
    wait_until("the idea error", || {
        !text("[data-testid=idea-error]").is_empty()
    })
    .await;
    assert_eq!(
        text("[data-testid=idea-error]"),
        "Describe your idea in a few words."
    );
    assert!(api.bodies("POST /api/session/start").is_empty());

    // Act: an idea, then Enter.
    type_into("[data-testid=idea-input]", "  a fox in the snow ");
    press_enter_in("[data-testid=idea-input]");

    // Assert: the request, then the server's refusal, with nothing to retry (the input needs changing).
    wait_until("the refusal", || {
        find("[data-testid=request-error]").is_some()
    })
    .await;
    assert_eq!(
        api.bodies("POST /api/session/start"),
        vec![json!({ "templateId": "general-cinematic", "initialInput": "a fox in the snow" })]
    );
    assert_eq!(
        text("[data-testid=request-error]"),
        "There is no such template. Pick one of the styles shown."
    );
    assert!(find("[data-testid=request-retry]").is_none());
}

#[wasm_bindgen_test]
async fn the_question_screen_sends_the_answer_and_repeats_it_on_try_again() {
    // Arrange
    let busy = "The session was changed by another request at the same time. Try again.";
    let api = FakeApi::answering(json!({
        "POST /api/session/answer": envelope(409, codes::SESSION_BUSY, busy),
    }));
    let question = QuestionView {
        index: 2,
        total: 3,
        text: "What mood and light?".into(),
        hint: "For example: calm, warm lamplight".into(),
        reask: false,
        previous_answer: Some("stormy".into()),
    };
    let _screen = mount(move |app, actions| {
        view! {
            <QuestionScreen
                question
                idea="a lighthouse".to_owned()
                answer_max=Signal::derive(move || app.answer_max())
                actions
            />
        }
    });

    // It renders the question, where it stands, and the earlier answer in the field.
    wait_until("the question", || {
        find("[data-testid=answer-input]").is_some()
    })
    .await;
    assert_eq!(text("[data-testid=step-counter]"), "Question 2 of 3");
    assert_eq!(text("[data-testid=question-text]"), "What mood and light?");
    assert!(find("[data-testid=back-button]").is_some());
    wait_until("the earlier answer in the field", || {
        field_value("[data-testid=answer-input]") == "stormy"
    })
    .await;

    // Act
    type_into("[data-testid=answer-input]", "calm, warm lamplight");
    press_enter_in("[data-testid=answer-input]");

    // Assert: the answer went out; the conflict shows with "Try again", which repeats it.
    wait_until("the error", || {
        find("[data-testid=request-retry]").is_some()
    })
    .await;
    assert!(text("[data-testid=request-error]").starts_with(busy));
    assert_eq!(text("[data-testid=request-retry]"), "Try again");
    click("[data-testid=request-retry]");
    wait_until("the second request", || {
        api.bodies("POST /api/session/answer").len() == 2
    })
    .await;
    let sent = json!({ "answer": "calm, warm lamplight", "skip": false });
    assert_eq!(
        api.bodies("POST /api/session/answer"),
        vec![sent.clone(), sent]
    );
}

fn ready_session() -> SessionView {
    SessionView {
        template_id: "general-cinematic".into(),
        template_name: "General cinematic".into(),
        idea: "a lighthouse".into(),
        status: SessionStatus::Ready,
        question: None,
        answers: vec![
            AnswerView {
                index: 1,
                question: "Where?".into(),
                hint: "A place and a time of day.".into(),
                answer: "a rocky island".into(),
                defaulted: false,
                skipped: false,
            },
            AnswerView {
                index: 2,
                question: "What mood and light?".into(),
                hint: "For example: calm, warm lamplight".into(),
                answer: "soft natural light".into(),
                defaulted: true,
                skipped: true,
            },
        ],
        default_aspect_ratio: AspectRatio::Landscape16x9,
        job: None,
        last_image: None,
        images: vec![],
        can_reuse_prompt: false,
        quota: Some(QuotaView {
            session_left: Some(0),
            client_left: None,
            global_left: None,
            resets_in_secs: 3 * 3600 + 120,
        }),
        references: vec![],
    }
}

fn image(n: u8) -> ImageView {
    ImageView {
        image_id: format!("{n}"),
        url: format!("/api/images/img{n}"),
        mime_type: "image/png".into(),
        width: 1024,
        height: 576,
        alt: "A lighthouse on a rocky island".into(),
        summary: "A lighthouse at dusk".into(),
        aspect_ratio: AspectRatio::Landscape16x9,
        image_size: ImageSize::OneK,
        offline_preview: true,
    }
}

/// Mounts the workspace for `session`, as `Home` does once all answers are in.
fn mount_workspace(session: SessionView, last: Option<GenerateRequest>) -> Mounted {
    mount(move |app, actions| {
        app.flow.update(|f| f.on_session(session));
        app.last_generate.set(last);
        let ratio = RatioChoice {
            options: Signal::stored(AspectRatio::ALL.to_vec()),
            picked: app.draft.ratio,
            default: Signal::derive(move || app.flow.with(|f| f.default_ratio())),
            count: app.draft.count,
            sizes: Signal::stored(ImageSize::ALL.to_vec()),
            size: app.draft.size,
        };
        view! { <WorkspaceScreen app ratio actions/> }
    })
}

#[wasm_bindgen_test]
async fn the_workspace_asks_for_the_image_in_the_shape_picked_and_shows_the_limit() {
    // Arrange
    let limit = "You have made today's 20 images for this session. It resets at midnight UTC, in 3 h 2 min.";
    let api = FakeApi::answering(json!({
        "POST /api/generate": envelope(429, codes::QUOTA_EXCEEDED, limit),
    }));
    let _screen = mount_workspace(ready_session(), None);

    // It renders the brief (a default marked as such), the template's shape picked, the quota line.
    wait_until("the answers", || find("[data-testid=answers]").is_some()).await;
    assert!(text("[data-testid=answer-1]").contains("a rocky island"));
    assert!(text("[data-testid=answer-2]").contains("Skipped: default used"));
    assert_eq!(
        text("[data-testid=quota-left]"),
        "Today's image limit is reached; it resets in 3 h 2 min."
    );
    let checked = |id: &str| {
        find(&format!("[data-testid={id}]"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|input| input.checked())
    };
    wait_until("16:9 picked", || checked("ratio-16x9")).await;

    // Act: the square shape, then "Create the image".
    click("[data-testid=ratio-1x1]");
    wait_until("1:1 picked", || checked("ratio-1x1")).await;
    click("[data-testid=generate-button]");

    // Assert
    wait_until("the refusal", || {
        find("[data-testid=request-error]").is_some()
    })
    .await;
    assert_eq!(
        api.bodies("POST /api/generate"),
        vec![
            serde_json::to_value(GenerateRequest {
                aspect_ratio: Some(AspectRatio::Square),
                reuse_prompt: false,
                count: Some(1),
                image_size: None,
                ..GenerateRequest::default()
            })
            .expect("json")
        ]
    );
    assert!(text("[data-testid=request-error]").starts_with(limit));
}

#[wasm_bindgen_test]
async fn a_failed_job_keeps_the_earlier_image_and_says_the_answers_are_kept_once() {
    let cases = [
        // The server's message already says it: not repeated.
        (
            codes::PROVIDER_UNAVAILABLE,
            "The provider is unavailable right now. Try again in a minute; your answers are kept.",
            true,
        ),
        // It does not: the page adds it, and a refused picture needs new words, not a retry.
        (
            codes::CONTENT_BLOCKED,
            "The image service blocked this picture on safety grounds.",
            false,
        ),
    ];
    for (code, message, retryable) in cases {
        // Arrange: one image made, then a job that failed.
        let api = FakeApi::answering(json!({
            "POST /api/generate": envelope(503, codes::INTERNAL, "Something went wrong on our side. Try again; your answers are kept."),
        }));
        let mut session = ready_session();
        session.quota = None;
        session.images = vec![image(1)];
        session.last_image = Some(image(1));
        session.can_reuse_prompt = true;
        session.job = Some(JobView {
            job_id: "j2".into(),
            status: JobStatus::Failed,
            image: None,
            images: vec![],
            failed_images: None,
            progress: None,
            error: Some(ApiErrorBody {
                error: message.to_owned(),
                code: code.to_owned(),
            }),
        });
        let screen = mount_workspace(
            session,
            Some(GenerateRequest {
                aspect_ratio: Some(AspectRatio::Portrait9x16),
                reuse_prompt: true,
                ..GenerateRequest::default()
            }),
        );

        // It renders the job's error, once reassuring about the answers, beside the kept image.
        wait_until("the job error", || {
            find("[data-testid=job-error]").is_some()
        })
        .await;
        let shown = text("[data-testid=job-error]").to_lowercase();
        assert_eq!(
            shown.matches("answers are kept").count(),
            1,
            "{code}: {shown}"
        );
        assert!(
            find("[data-testid=result-image]").is_some(),
            "{code}: the image stays"
        );
        assert!(
            find("[data-testid=thumb-0]").is_some(),
            "{code}: and its thumbnail"
        );
        assert_eq!(
            text("[data-testid=quota-left]"),
            "",
            "no quota line when nothing is counted"
        );
        assert_eq!(
            find("[data-testid=retry-button]").is_some(),
            retryable,
            "{code}"
        );

        // "Try again" asks for the same image again; its failure shows with its own retry.
        if retryable {
            click("[data-testid=retry-button]");
            wait_until("the request error", || {
                find("[data-testid=request-error]").is_some()
            })
            .await;
            assert_eq!(
                api.bodies("POST /api/generate"),
                vec![json!({ "aspectRatio": "9:16", "reusePrompt": true })]
            );
            assert!(text("[data-testid=request-error]").starts_with("Something went wrong"));
        }
        drop(screen);
    }
}

#[wasm_bindgen_test]
async fn an_answer_changes_in_place_and_a_thin_one_is_refused_keeping_the_words() {
    // Arrange
    let thin = "That answer to question 1 is too thin to build an image on, so the earlier one is kept. A place and a time of day. Or skip to use the default.";
    let api = FakeApi::answering(json!({
        "PUT /api/session/answers/1": envelope(422, codes::ANSWER_TOO_THIN, thin),
    }));
    let _screen = mount_workspace(ready_session(), None);
    wait_until("the answers", || {
        find("[data-testid=edit-answer-1]").is_some()
    })
    .await;

    // Act: change the first answer to something thin.
    click("[data-testid=edit-answer-1]");
    wait_until("the field", || {
        find("[data-testid=answer-edit-1]").is_some()
    })
    .await;
    assert_eq!(field_value("[data-testid=answer-edit-1]"), "a rocky island");
    type_into("[data-testid=answer-edit-1]", "a rock");
    press_enter_in("[data-testid=answer-edit-1]");

    // Assert: one PUT with the words; the refusal shows under the field, which keeps them.
    wait_until("the refusal", || {
        text("[data-testid=answer-1]").contains("too thin")
    })
    .await;
    assert_eq!(
        api.bodies("PUT /api/session/answers/1"),
        vec![json!({ "answer": "a rock", "skip": false })]
    );
    assert_eq!(field_value("[data-testid=answer-edit-1]"), "a rock");
    assert!(
        api.bodies("POST /api/session/back").is_empty(),
        "no walk back through the questions"
    );
}
