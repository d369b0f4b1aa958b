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
    JobView, QuestionView, QuotaView, ReferenceView, SessionStatus, SessionView, TemplateSummary,
    codes,
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
        // A 204 has no body (the Response constructor refuses one).
        const body = answer.status === 204 ? null : JSON.stringify(answer.body);
        return new Response(body, {
            status: answer.status,
            headers: { 'content-type': 'application/json' },
        });
    };
    return sent;
}

export function drop_file(selector, name, type, text) {
    const files = new DataTransfer();
    files.items.add(new File([text], name, { type }));
    const target = document.querySelector(selector);
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: files }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: files }));
}

export function choose_file(selector, name, type, text) {
    const input = document.querySelector(selector);
    const files = new DataTransfer();
    files.items.add(new File([text], name, { type }));
    input.files = files.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
}
"#)]
extern "C" {
    /// Replaces `window.fetch`; returns the live list of requests sent (JSON strings).
    fn fake_api(routes: &str) -> js_sys::Array;
    /// Drops a file named `name` holding `text` on the element, as dragging it there does.
    fn drop_file(selector: &str, name: &str, mime_type: &str, text: &str);
    /// Puts a file named `name` holding `text` in the file input, as choosing it there does.
    fn choose_file(selector: &str, name: &str, mime_type: &str, text: &str);
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

    /// The raw bodies sent to `route`, in order (a multipart form is not JSON).
    fn raw_bodies(&self, route: &str) -> Vec<String> {
        self.sent
            .iter()
            .filter_map(|entry| entry.as_string())
            .filter_map(|entry| serde_json::from_str::<Value>(&entry).ok())
            .filter(|entry| entry["route"] == route)
            .map(|entry| entry["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// How many requests went to `route`.
    fn count(&self, route: &str) -> usize {
        self.raw_bodies(route).len()
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

/// One gallery entry as `GET /api/session/images` sends it: the image, its thumbnail and recipe.
fn gallery_entry(n: u8, edit: Option<&str>) -> Value {
    let mut entry = serde_json::to_value(image(n)).expect("json");
    entry["thumbnailUrl"] = json!(format!("/api/images/img{n}?w=256"));
    entry["recipe"] = json!({
        "templateId": "general-cinematic",
        "templateName": "General cinematic",
        "idea": "a lighthouse",
        "answers": [],
        "aspectRatio": "16:9",
        "imageSize": "1K",
        "count": 1,
        "referenceIds": [],
        "editInstruction": edit,
        "editOf": edit.map(|_| "img1"),
    });
    entry
}

fn with_images(mut session: SessionView, newest_first: &[u8]) -> SessionView {
    session.quota = None;
    session.images = newest_first.iter().map(|&n| image(n)).collect();
    session.last_image = session.images.first().cloned();
    session.can_reuse_prompt = true;
    session
}

fn focused_id() -> String {
    document()
        .active_element()
        .map(|e| e.id())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn the_gallery_shows_thumbnails_enlarges_edits_shares_and_deletes() {
    // Arrange: two images, the newer an edit of the older.
    let api = FakeApi::answering(json!({
        "GET /api/session/images": { "status": 200, "body": { "images": [
            gallery_entry(2, Some("make it night")),
            gallery_entry(1, None),
        ] } },
        "POST /api/generate": envelope(429, codes::QUOTA_EXCEEDED, "Today's limit is reached."),
        "POST /api/recipes": { "status": 201, "body": { "recipeId": "r1", "url": "/r/r1" } },
        "DELETE /api/images/img2": { "status": 204, "body": null },
        "GET /api/images/img2": { "status": 200, "body": "the image's bytes" },
        "POST /api/session/references": { "status": 201, "body": reference("ref1", "an image from this session") },
    }));
    let _screen = mount_workspace(with_images(ready_session(), &[2, 1]), None);

    // Thumbnails are the server's small versions, never the full image.
    wait_until("the gallery's thumbnails", || {
        find("[data-testid=thumb-1] img")
            .and_then(|i| i.get_attribute("src"))
            .is_some_and(|src| src == "/api/images/img1?w=256")
    })
    .await;
    assert_eq!(
        find("[data-testid=thumb-0] img").and_then(|i| i.get_attribute("src")),
        Some("/api/images/img2?w=256".to_owned())
    );

    // Enlarge: a modal dialog with the full image and its recipe, edit included.
    click("[data-testid=enlarge]");
    let dialog_open = || {
        find("[data-testid=enlarge-dialog]")
            .and_then(|d| d.dyn_into::<web_sys::HtmlDialogElement>().ok())
            .is_some_and(|d| d.open())
    };
    wait_until("the dialog", dialog_open).await;
    wait_until("the recipe", || find("[data-testid=recipe-edit]").is_some()).await;
    assert_eq!(text("[data-testid=recipe-edit]"), "make it night");
    let recipe = text("[data-testid=enlarge-recipe]");
    assert!(
        recipe.contains("a lighthouse") && recipe.contains("16:9, 1K"),
        "{recipe}"
    );
    assert_eq!(
        find(".enlarged").and_then(|i| i.get_attribute("src")),
        Some("/api/images/img2".to_owned()),
        "the full image, not the thumbnail"
    );
    wait_until("focus on Close", || focused_id() == "enlarge-close").await;
    click("[data-testid=enlarge-close]");
    wait_until("the dialog to close", || !dialog_open()).await;
    wait_until("focus back on Enlarge", || {
        document()
            .active_element()
            .and_then(|e| e.get_attribute("data-testid"))
            .as_deref()
            == Some("enlarge")
    })
    .await;

    // Edit in words: an empty instruction is refused here; one sent asks for an edit of img2.
    click("[data-testid=edit-open]");
    wait_until("the edit field", || focused_id() == "edit-instruction").await;
    press_enter_in("[data-testid=edit-instruction]");
    wait_until("the empty refusal", || {
        find("[data-testid=edit-error]").is_some()
    })
    .await;
    assert_eq!(api.count("POST /api/generate"), 0, "nothing sent");
    type_into(
        "[data-testid=edit-instruction]",
        "  make it night, with rain ",
    );
    press_enter_in("[data-testid=edit-instruction]");
    wait_until("the refusal", || {
        find("[data-testid=request-error]").is_some()
    })
    .await;
    assert_eq!(
        api.bodies("POST /api/generate"),
        vec![
            json!({ "editOf": "img2", "instruction": "make it night, with rain", "reusePrompt": false })
        ]
    );

    // Copy recipe link: a recipe of the image on the stage, its full link shown to copy.
    click("[data-testid=copy-recipe-link]");
    wait_until("the link", || find("[data-testid=recipe-link]").is_some()).await;
    assert_eq!(
        api.bodies("POST /api/recipes"),
        vec![json!({ "imageId": "img2" })]
    );
    let link = field_value("[data-testid=recipe-link]");
    assert_eq!(
        link,
        format!("{}/r/r1", window().location().origin().expect("origin"))
    );

    // Use as reference: the image's own bytes go up as a reference of the session.
    click("[data-testid=use-as-reference]");
    wait_until("the reference listed", || {
        text("[data-testid=references-status]") == "1 of 3."
    })
    .await;
    assert_eq!(api.count("GET /api/images/img2"), 1);
    let sent = api.raw_bodies("POST /api/session/references");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("filename=\"prompt-refinery-img2.png\"")
            && sent[0].contains("Content-Type: image/png")
            && sent[0].contains("the image's bytes"),
        "{}",
        sent[0]
    );

    // Delete asks first; "Keep it" keeps it, "Delete it" deletes it and focus lands on the
    // image that took its place.
    click("[data-testid=delete-image]");
    wait_until("the question", || focused_id() == "delete-cancel").await;
    click("[data-testid=delete-cancel]");
    assert_eq!(api.count("DELETE /api/images/img2"), 0);
    click("[data-testid=delete-image]");
    wait_until("the question", || focused_id() == "delete-cancel").await;
    click("[data-testid=delete-confirm-button]");
    wait_until("one thumbnail left", || {
        find("[data-testid=thumb-1]").is_none() && find("[data-testid=thumb-0]").is_some()
    })
    .await;
    assert_eq!(api.count("DELETE /api/images/img2"), 1);
    wait_until("focus on the remaining thumbnail", || {
        focused_id() == "thumb-0"
    })
    .await;
    assert_eq!(
        find("[data-testid=result-image]").and_then(|i| i.get_attribute("src")),
        Some("/api/images/img1".to_owned()),
        "the stage shows the image left"
    );
}

fn reference(id: &str, note: &str) -> ReferenceView {
    ReferenceView {
        reference_id: id.into(),
        mime_type: "image/png".into(),
        width: 8,
        height: 8,
        note: note.into(),
        url: format!("/api/session/references/{id}"),
        thumbnail_url: format!("/api/session/references/{id}?w=256"),
    }
}

#[wasm_bindgen_test]
async fn a_reference_is_uploaded_with_its_note_a_refusal_shows_beside_the_form_and_it_can_be_removed()
 {
    // Arrange: the server refuses the first upload as the wrong type.
    let wrong_type = "That file is not a PNG, JPEG or WebP image.";
    let api = FakeApi::answering(json!({
        "POST /api/session/references": envelope(415, codes::REFERENCE_UNSUPPORTED_TYPE, wrong_type),
    }));
    let _screen = mount_workspace(with_images(ready_session(), &[1]), None);
    wait_until("the form", || {
        find("[data-testid=reference-file]").is_some()
    })
    .await;

    // Sending without a file says so, and sends nothing.
    click("[data-testid=reference-add]");
    wait_until("the missing file", || {
        text("[data-testid=reference-error]").contains("Choose an image file")
    })
    .await;
    assert_eq!(api.count("POST /api/session/references"), 0);

    // Act: a file and a note.
    choose_file(
        "[data-testid=reference-file]",
        "product.png",
        "image/png",
        "not really a png",
    );
    type_into("[data-testid=reference-note]", "our product");
    click("[data-testid=reference-add]");

    // Assert: one multipart request with both fields; the server's words beside the form.
    wait_until("the refusal", || {
        text("[data-testid=reference-error]") == wrong_type
    })
    .await;
    let sent = api.raw_bodies("POST /api/session/references");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("name=\"file\"; filename=\"product.png\"")
            && sent[0].contains("name=\"note\"")
            && sent[0].contains("our product"),
        "{}",
        sent[0]
    );
    assert_eq!(
        field_value("[data-testid=reference-note]"),
        "our product",
        "the note is kept"
    );

    // The server takes the next one: it is listed with its note, and the form is cleared.
    let api = FakeApi::answering(json!({
        "POST /api/session/references": { "status": 201, "body": reference("ref1", "our product") },
        "DELETE /api/session/references/ref1": { "status": 204, "body": null },
    }));
    click("[data-testid=reference-add]");
    wait_until("the reference listed", || {
        text("[data-testid=reference-0]").contains("our product")
    })
    .await;
    assert!(
        find("[data-testid=reference-error]").is_none(),
        "the refusal is gone"
    );
    assert_eq!(field_value("[data-testid=reference-note]"), "");
    assert_eq!(text("[data-testid=references-status]"), "1 of 3.");
    assert_eq!(
        find("[data-testid=reference-0] img").and_then(|i| i.get_attribute("src")),
        Some("/api/session/references/ref1?w=256".to_owned()),
        "the chip shows the small preview, not the upload"
    );

    // Remove: the row goes and focus moves to the file input.
    click("[data-testid=reference-remove-0]");
    wait_until("the row removed", || {
        find("[data-testid=reference-0]").is_none()
    })
    .await;
    assert_eq!(api.count("DELETE /api/session/references/ref1"), 1);
    wait_until("focus on the file input", || {
        focused_id() == "reference-file"
    })
    .await;
}

#[wasm_bindgen_test]
async fn each_refused_upload_shows_its_own_message_beside_the_form() {
    let _screen = mount_workspace(with_images(ready_session(), &[1]), None);
    wait_until("the form", || {
        find("[data-testid=reference-file]").is_some()
    })
    .await;
    let cases = [
        (
            json!({ "status": 413, "body": { "error": "The file is 7.2 MiB; the limit is 7 MiB.", "code": codes::REFERENCE_TOO_LARGE } }),
            "The file is 7.2 MiB; the limit is 7 MiB.",
        ),
        (
            json!({ "status": 422, "body": { "error": "The image could not be read: it ends too early (truncated?).", "code": codes::REFERENCE_UNREADABLE } }),
            "The image could not be read: it ends too early (truncated?).",
        ),
        (
            json!({ "status": 409, "body": { "error": "A session holds at most 3 reference images. Delete one to add another.", "code": codes::TOO_MANY_REFERENCES } }),
            "A session holds at most 3 reference images. Delete one to add another.",
        ),
        // A proxy's body limit answers without our envelope: the page says it in its own words.
        (
            json!({ "status": 413, "body": "Request Entity Too Large" }),
            "That file is too large to send: a reference can be at most 7 MB.",
        ),
    ];
    for (answer, shown) in cases {
        let api = FakeApi::answering(json!({ "POST /api/session/references": answer }));
        choose_file(
            "[data-testid=reference-file]",
            "big.jpg",
            "image/jpeg",
            "jpeg bytes",
        );
        click("[data-testid=reference-add]");
        wait_until(shown, || text("[data-testid=reference-error]") == shown).await;
        assert_eq!(api.count("POST /api/session/references"), 1);
        assert!(
            find("[data-testid=reference-0]").is_none(),
            "nothing listed"
        );
        wait_until("focus on the message", || focused_id() == "reference-error").await;
    }
}

#[wasm_bindgen_test]
async fn a_session_with_three_references_takes_no_more() {
    let _api = FakeApi::answering(json!({}));
    let mut session = with_images(ready_session(), &[1]);
    session.references = vec![
        reference("a", "one"),
        reference("b", ""),
        reference("c", "three"),
    ];
    let _screen = mount_workspace(session, None);
    wait_until("the list", || find("[data-testid=reference-2]").is_some()).await;
    let disabled = |selector: &str| {
        find(selector)
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|input| input.disabled())
    };
    assert!(disabled("[data-testid=reference-file]"));
    assert!(text("[data-testid=references-status]").contains("Remove one to add another"));
    assert!(text("[data-testid=reference-1]").contains("No note"));
    assert!(
        find("[data-testid=use-as-reference]")
            .and_then(|b| b.dyn_into::<web_sys::HtmlButtonElement>().ok())
            .is_some_and(|b| b.disabled()),
        "the gallery cannot add a fourth"
    );
}

#[wasm_bindgen_test]
async fn a_file_dropped_on_the_form_is_the_one_uploaded() {
    let api = FakeApi::answering(json!({
        "POST /api/session/references": { "status": 201, "body": reference("ref9", "") },
    }));
    let _screen = mount_workspace(with_images(ready_session(), &[1]), None);
    wait_until("the form", || {
        find("[data-testid=reference-form]").is_some()
    })
    .await;

    drop_file(
        "[data-testid=reference-form]",
        "style.webp",
        "image/webp",
        "webp bytes",
    );
    let chosen = || {
        find("[data-testid=reference-file]")
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
            .map(|file| file.name())
    };
    wait_until("the dropped file in the input", || {
        chosen().as_deref() == Some("style.webp")
    })
    .await;
    wait_until("the chosen file named", || {
        text("[data-testid=reference-form]").contains("Chosen: style.webp")
    })
    .await;
    click("[data-testid=reference-add]");

    wait_until("the reference listed", || {
        find("[data-testid=reference-0]").is_some()
    })
    .await;
    let sent = api.raw_bodies("POST /api/session/references");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("filename=\"style.webp\""), "{}", sent[0]);
    assert!(
        !sent[0].contains("name=\"note\""),
        "no empty note: {}",
        sent[0]
    );
    assert!(text("[data-testid=reference-0]").contains("No note"));
}
