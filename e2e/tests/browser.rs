//! The browser suite: a person using the app with the keyboard, in headless Chromium, against the
//! real server in offline mode. Needs `dist/` (scripts/build-spa) and chromedriver
//! (scripts/bootstrap --browser). Screenshots of each test's last screen: e2e/screenshots/.

use anyhow::{Context, ensure};
use e2e::{Page, run};

const IDEA: &str = "a lighthouse keeper feeding gulls in a storm";
const PNG_MAGIC: [u8; 8] = [137, 80, 78, 71, 13, 10, 26, 10];

/// Picks the template, types the idea and starts, all by keyboard; ends on question 1.
async fn start(page: &Page) -> anyhow::Result<()> {
    page.open("/").await?;
    page.wait_for("template-general-cinematic").await?;
    page.wait_for("offline-badge").await?;
    page.check_accessibility("the start screen").await?;
    page.tab_to("template-general-cinematic").await?;
    page.space().await?;
    page.tab_to("idea-input").await?;
    page.type_text(IDEA).await?;
    page.tab_to("start-button").await?;
    page.enter().await?;
    page.wait_for_question(1).await?;
    page.wait_for_focus("answer-input").await
}

/// Types an answer into the focused field and presses Enter.
async fn answer(page: &Page, text: &str) -> anyhow::Result<()> {
    page.wait_for_focus("answer-input").await?;
    page.type_text(text).await?;
    page.enter().await
}

/// Answers all three questions plainly, which creates the image; ends in the workspace.
async fn reach_result(page: &Page) -> anyhow::Result<()> {
    start(page).await?;
    answer(page, "a rocky Atlantic island at dusk").await?;
    page.wait_for_question(2).await?;
    answer(page, "wild, stormy, silver and slate blue").await?;
    page.wait_for_question(3).await?;
    // The third answer's Enter is "Create the image": no extra click.
    answer(page, "wide shot from a low angle").await?;
    wait_for_image(page).await
}

async fn wait_for_image(page: &Page) -> anyhow::Result<()> {
    page.wait_until(
        "the image to load",
        "(() => { const i = document.querySelector('[data-testid=\"result-image\"]'); return i && i.complete && i.naturalWidth > 0; })()",
    )
    .await?;
    page.wait_for_focus("result-heading").await
}

async fn image_src(page: &Page) -> anyhow::Result<String> {
    let src = page
        .js("return document.querySelector('[data-testid=\"result-image\"]').getAttribute('src');")
        .await?;
    Ok(src.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_by_keyboard_alone() {
    run(
        "happy_path",
        |_| {},
        |page| async move {
            start(&page).await?;
            page.check_accessibility("question 1").await?;

            // A sparse answer is asked again, with the reason and the hint.
            answer(&page, "idk").await?;
            page.wait_for("reask-notice").await?;
            page.wait_for_focus("answer-input").await?;
            ensure!(
                !page.text("question-hint").await?.is_empty(),
                "the hint shows"
            );
            page.check_accessibility("question 1 asked again with its hint")
                .await?;
            answer(&page, "a rocky Atlantic island at dusk").await?;

            // The second is skipped.
            page.wait_for_question(2).await?;
            page.tab_to("skip-button").await?;
            page.enter().await?;

            page.wait_for_question(3).await?;
            answer(&page, "wide shot from a low angle").await?;
            wait_for_image(&page).await?;
            let answers = page.text("answers").await?;
            ensure!(answers.contains("rocky Atlantic island"), "{answers}");
            ensure!(answers.contains("Skipped: default used"), "{answers}");
            let alt = page
                .js("return document.querySelector('[data-testid=\"result-image\"]').alt;")
                .await?;
            let alt = alt.as_str().unwrap_or_default();
            ensure!(!alt.trim().is_empty(), "the image has alt text");
            ensure!(
                page.text("summary")
                    .await?
                    .starts_with("What we understood"),
                "the summary line shows"
            );

            // Download: a same-origin link with a download name, serving PNG bytes.
            page.tab_to("download-link").await?;
            let link = page
                .client
                .find(fantoccini::Locator::Css("[data-testid=\"download-link\"]"))
                .await?;
            let href = link.attr("href").await?.context("download href")?;
            let name = link.attr("download").await?.unwrap_or_default();
            ensure!(name.ends_with(".png"), "download name {name:?}");
            let (status, kind, head) = page.fetch_head(&href).await?;
            ensure!(status == 200, "GET {href}: {status}");
            ensure!(kind == "image/png", "content type {kind}");
            ensure!(head == PNG_MAGIC, "PNG bytes, got {head:?}");
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_generation_can_be_retried_with_the_answers_intact() {
    run(
        "failure_recovery",
        |settings| settings.offline.image_faults = "provider_unavailable".into(),
        |page| async move {
            start(&page).await?;
            answer(&page, "a rocky Atlantic island at dusk").await?;
            page.wait_for_question(2).await?;
            answer(&page, "wild, stormy, silver and slate blue").await?;
            page.wait_for_question(3).await?;
            answer(&page, "wide shot from a low angle").await?;

            // The message shows in an alert, which takes focus; the answers are still there.
            page.wait_for("job-error").await?;
            page.wait_for_focus("job-error").await?;
            let message = page.text("job-error").await?;
            ensure!(message.contains("answers are kept"), "{message}");
            page.check_accessibility("a failed generation").await?;
            let answers = page.text("answers").await?;
            for expected in ["rocky Atlantic island", "slate blue", "low angle"] {
                ensure!(answers.contains(expected), "{expected} in {answers}");
            }

            page.tab_to("retry-button").await?;
            page.enter().await?;
            wait_for_image(&page).await?;
            let answers = page.text("answers").await?;
            for expected in ["rocky Atlantic island", "slate blue", "low angle"] {
                ensure!(
                    answers.contains(expected),
                    "{expected} in {answers} after the retry"
                );
            }
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_take_change_an_answer_and_start_over() {
    run(
        "iterate",
        |_| {},
        |page| async move {
            reach_result(&page).await?;

            // New take: same prompt, a new image.
            let first = image_src(&page).await?;
            page.tab_to("new-take").await?;
            page.enter().await?;
            page.wait_until(
                "a new image",
                &format!(
                    "(() => {{ const i = document.querySelector('[data-testid=\"result-image\"]'); return i && i.getAttribute('src') !== '{first}' && i.complete && i.naturalWidth > 0; }})()"
                ),
            )
            .await?;
            page.wait_for_focus("result-heading").await?;

            // Both images stay in the strip, newest first.
            page.wait_for("thumb-1").await?;
            let second = image_src(&page).await?;

            // Change the second answer in place: the others stay, nothing is asked again.
            page.tab_to("edit-answer-2").await?;
            page.enter().await?;
            page.wait_for_focus("answer-edit-2").await?;
            page.check_accessibility("the workspace with answer 2's edit form open")
                .await?;
            page.select_all().await?;
            page.type_text("calm, warm lamplight, amber and deep green").await?;
            page.enter().await?;
            page.wait_until(
                "the revised answer",
                "document.querySelector('[data-testid=\"answer-2\"]').textContent.includes('amber and deep green')",
            )
            .await?;
            let answers = page.text("answers").await?;
            ensure!(answers.contains("rocky Atlantic island"), "{answers}");
            ensure!(answers.contains("low angle"), "{answers}");
            ensure!(!answers.contains("slate blue"), "{answers}");
            ensure!(
                page.text("brief-changed").await?.contains("next one follows it"),
                "the brief says the next image follows the change"
            );

            // Re-think makes a third image from the changed brief; the first two stay.
            page.tab_to("rethink").await?;
            page.enter().await?;
            page.wait_for("thumb-2").await?;
            wait_for_image(&page).await?;
            let third = image_src(&page).await?;
            ensure!(third != first && third != second, "a third image");
            for at in 0..3 {
                page.wait_for(&format!("thumb-{at}")).await?;
            }

            // Start over asks first; "Keep working" loses nothing.
            page.tab_to("start-over").await?;
            page.enter().await?;
            page.wait_for_focus("start-over-cancel").await?;
            let asked = page.text("start-over-dialog").await?;
            ensure!(asked.contains("Start over?"), "{asked}");
            page.check_accessibility("the Start over dialog").await?;
            page.enter().await?;
            ensure!(
                page.js("return !document.querySelector('[data-testid=\"start-over-dialog\"]').open;")
                    .await?
                    == serde_json::Value::Bool(true),
                "the dialog closed"
            );
            page.wait_for("thumb-2").await?;

            // Start over for real, keeping the idea in the field.
            page.tab_to("start-over").await?;
            page.enter().await?;
            page.wait_for_focus("start-over-cancel").await?;
            let kept = page
                .js("return document.querySelector('[data-testid=\"keep-idea\"]').checked;")
                .await?;
            ensure!(kept == serde_json::Value::Bool(true), "keep-idea is on by default");
            page.tab_to("start-over-confirm").await?;
            page.enter().await?;
            page.wait_for("idea-input").await?;
            page.wait_for_focus("start-heading").await?;
            ensure!(page.value("idea-input").await? == IDEA, "the idea is kept");
            page.check_accessibility("the start screen after Start over")
                .await?;
            ensure!(
                page.text("announcer").await?.trim().is_empty(),
                "the live region no longer says the image is ready"
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_mid_flow_resumes_at_the_same_question() {
    run(
        "reload_resume",
        // Slow enough that a reload lands while the image is being made.
        |settings| settings.offline.latency = std::time::Duration::from_millis(2500),
        |page| async move {
            start(&page).await?;
            answer(&page, "a rocky Atlantic island at dusk").await?;
            page.wait_for_question(2).await?;

            page.client.refresh().await?;
            page.wait_for_question(2).await?;
            let question = page.text("question-text").await?;
            ensure!(question.contains("mood"), "question 2 again: {question}");
            page.wait_for_focus("answer-input").await?;

            // And the flow carries on from there.
            answer(&page, "wild, stormy, silver and slate blue").await?;
            page.wait_for_question(3).await?;
            answer(&page, "wide shot from a low angle").await?;

            // A reload while the image is being made picks the running job up again.
            page.wait_for("stage").await?;
            page.client.refresh().await?;
            page.wait_for("stage").await?;
            wait_for_image(&page).await
        },
    )
    .await;
}

/// Checks, from element boxes, that the selected image fits the viewport at its own pixels or
/// fewer and that its actions are in view without scrolling; saves a screenshot.
/// True when the page does not scroll sideways and the image and its actions are in view.
const FITS: &str = r#"(() => {
    const box = (id) => { const e = document.querySelector(`[data-testid="${id}"]`); return e && e.getBoundingClientRect(); };
    const inView = (b) => b && b.top >= 0 && b.bottom <= window.innerHeight + 0.5;
    const image = box('result-image');
    return document.documentElement.scrollWidth <= window.innerWidth
        && inView(image) && image.left >= 0 && image.right <= window.innerWidth + 0.5
        && ['download-link', 'new-take', 'rethink'].every((id) => inView(box(id)));
})()"#;

async fn check_fit(page: &Page, width: u32, height: u32) -> anyhow::Result<()> {
    page.viewport(width, height).await?;
    page.js("window.scrollTo(0, 0); return true;").await?;
    wait_for_image(page).await?;
    // The stage sizes the image from the window after a resize, a frame or more later on a busy
    // machine: wait (bounded) for the layout to fit, then measure and say what does not.
    let _ = page.wait_until("the layout to settle", FITS).await;
    let boxes = page
        .js(r#"
            const box = (id) => {
                const e = document.querySelector(`[data-testid="${id}"]`);
                if (!e) return null;
                const r = e.getBoundingClientRect();
                return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height };
            };
            const image = document.querySelector('[data-testid="result-image"]');
            return {
                viewW: window.innerWidth, viewH: window.innerHeight,
                pageW: document.documentElement.scrollWidth,
                image: box('result-image'), naturalW: image.naturalWidth, naturalH: image.naturalHeight,
                actions: ['download-link', 'new-take', 'rethink'].map(box),
                badge: box('offline-badge'),
            };
        "#)
        .await?;
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let (view_w, view_h) = (num(&boxes["viewW"]), num(&boxes["viewH"]));
    let image = &boxes["image"];
    let at = format!("{width}x{height}: {boxes}");
    ensure!(num(&boxes["pageW"]) <= view_w, "no sideways scroll at {at}");
    ensure!(
        num(&image["top"]) >= 0.0 && num(&image["bottom"]) <= view_h + 0.5,
        "the image fits the viewport's height at {at}"
    );
    ensure!(
        num(&image["left"]) >= 0.0 && num(&image["right"]) <= view_w + 0.5,
        "the image fits the viewport's width at {at}"
    );
    ensure!(
        num(&image["width"]) <= num(&boxes["naturalW"]) + 0.5
            && num(&image["height"]) <= num(&boxes["naturalH"]) + 0.5,
        "the image is not drawn past its own pixels at {at}"
    );
    for action in boxes["actions"].as_array().into_iter().flatten() {
        ensure!(
            num(&action["top"]) >= 0.0 && num(&action["bottom"]) <= view_h + 0.5,
            "every action is in view without scrolling at {at}"
        );
    }
    ensure!(
        num(&boxes["badge"]["height"]) < 40.0,
        "the offline badge keeps to one line at {at}"
    );
    page.screenshot(&format!("workspace-{width}x{height}"))
        .await?;
    page.check_accessibility(&format!("the workspace at {width}x{height}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workspace_fits_a_laptop_and_a_phone() {
    run(
        "workspace_fit",
        |_| {},
        |page| async move {
            page.viewport(1280, 800).await?;
            reach_result(&page).await?;
            check_fit(&page, 1280, 800).await?;
            check_fit(&page, 390, 844).await?;
            // A portrait image as well: the tallest shape is the hardest to fit.
            page.viewport(1280, 800).await?;
            let first = image_src(&page).await?;
            page.js("document.querySelector('[data-testid=\"ratio-9x16\"]').click(); return true;")
                .await?;
            page.tab_to("rethink").await?;
            page.enter().await?;
            page.wait_until(
                "a portrait image",
                &format!(
                    "(() => {{ const i = document.querySelector('[data-testid=\"result-image\"]'); return i && i.getAttribute('src') !== '{first}' && i.complete && i.naturalHeight > i.naturalWidth; }})()"
                ),
            )
            .await?;
            check_fit(&page, 1280, 800).await?;
            check_fit(&page, 390, 844).await
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_and_forward_move_inside_the_app() {
    run(
        "back_forward",
        |_| {},
        |page| async move {
            reach_result(&page).await?;
            let origin = page.base.clone();
            ensure!(page.client.current_url().await?.path() == "/workspace");

            // Back from the workspace shows the third answer, to change it in place.
            page.client.back().await?;
            page.wait_for("revise").await?;
            let url = page.client.current_url().await?;
            ensure!(url.as_str().starts_with(&origin), "still in the app: {url}");
            ensure!(url.path() == "/questions/3", "{url}");
            ensure!(
                page.value("answer-input").await? == "wide shot from a low angle",
                "the answer is prefilled"
            );
            page.check_accessibility("question 3 reached with Back").await?;
            page.client.back().await?;
            page.wait_until(
                "question 2's page",
                "location.pathname === '/questions/2' && !!document.querySelector('[data-testid=\"revise\"]')",
            )
            .await?;

            // Forward twice: the workspace again, with the image still there.
            page.client.forward().await?;
            page.client.forward().await?;
            page.wait_for("workspace").await?;
            wait_for_image(&page).await
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_on_one_session_agree() {
    run(
        "two_tabs",
        |_| {},
        |page| async move {
            reach_result(&page).await?;
            let first = page.client.window().await?;
            let second = page.client.new_window(true).await?;
            page.client.switch_to_window(second.handle).await?;
            page.open("/workspace").await?;
            wait_for_image(&page).await?;

            // The second tab changes the first answer in place.
            page.tab_to("edit-answer-1").await?;
            page.enter().await?;
            page.wait_for_focus("answer-edit-1").await?;
            page.select_all().await?;
            page.type_text("a quiet harbour in fog").await?;
            page.enter().await?;
            page.wait_until(
                "the revision saved",
                "document.querySelector('[data-testid=\"answer-1\"]').textContent.includes('quiet harbour')",
            )
            .await?;

            // The first tab redraws from the server's view, with no contradicting error.
            page.client.switch_to_window(first).await?;
            page.wait_until(
                "the first tab to follow",
                "document.querySelector('[data-testid=\"answer-1\"]').textContent.includes('quiet harbour')",
            )
            .await?;
            ensure!(
                page.js("return !document.querySelector('[data-testid=\"request-error\"]');")
                    .await?
                    == serde_json::Value::Bool(true),
                "no error in the first tab"
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_check_fails_on_a_serious_violation() {
    run(
        "axe_catches",
        |_| {},
        |page| async move {
            page.open("/").await?;
            page.wait_for("idea-input").await?;
            page.check_accessibility("the start screen").await?;
            // An image with no text alternative is a critical violation (rule image-alt).
            page.js("const i = document.createElement('img'); i.src = '/favicon.svg'; i.dataset.testid = 'bare-image'; document.body.append(i); return true;")
                .await?;
            let Err(e) = page.check_accessibility("a page with a bare image").await else {
                anyhow::bail!("axe let an image without alt text through");
            };
            let message = format!("{e:#}");
            ensure!(
                message.contains("image-alt (critical)") && message.contains("bare-image"),
                "the failure names the rule and the element: {message}"
            );
            Ok(())
        },
    )
    .await;
}

/// A recipe link made in one browser opens in a fresh one (no cookie): the brief and the image's
/// thumbnail show, and "Make it" (by keyboard) gives the partner a ready session with that brief.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipe_link_opens_in_a_fresh_browser_and_makes_it() {
    run(
        "recipe-link",
        |_| {},
        |page| async move {
            reach_result(&page).await?;
            let recipe_id = page
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];\
                     fetch('/api/recipes', {method: 'POST'}).then(r => r.json())\
                       .then(j => done(j.recipeId), () => done(null));",
                    vec![],
                )
                .await?;
            let recipe_id = recipe_id.as_str().context("a recipe id")?.to_owned();

            // A fresh browser: no session cookie.
            page.client.delete_all_cookies().await?;
            page.open(&format!("/r/{recipe_id}")).await?;
            page.wait_for("recipe-brief").await?;
            let brief = page.text("recipe-brief").await?;
            ensure!(brief.contains(IDEA), "the idea is shown: {brief}");
            ensure!(
                brief.contains("a rocky Atlantic island at dusk"),
                "the answers are shown: {brief}"
            );
            page.wait_until(
                "the thumbnail to load, 256 pixels wide",
                "(() => { const i = document.querySelector('[data-testid=\"recipe-thumbnail\"]'); return i && i.complete && i.naturalWidth === 256; })()",
            )
            .await?;
            page.check_accessibility("the recipe page").await?;

            page.tab_to("make-it").await?;
            page.enter().await?;
            page.wait_until("the workspace", "location.pathname === '/workspace'")
                .await?;
            page.wait_for("answers-idea").await?;
            let idea = page.text("answers-idea").await?;
            ensure!(idea.contains(IDEA), "the partner's session has the idea: {idea}");
            let answer = page.text("answer-1").await?;
            ensure!(
                answer.contains("a rocky Atlantic island at dusk"),
                "and the answers: {answer}"
            );
            Ok(())
        },
    )
    .await;
}

/// Fails when the stage's parts overlap: the image, its caption, the grid and the actions.
async fn check_no_overlap(page: &Page, at: &str) -> anyhow::Result<()> {
    no_overlaps(page, OVERLAPS, at).await
}

/// Fails when `script` (which returns the overlapping pairs) finds any, once the layout has had
/// its bounded chance to settle after a resize (as in check_fit).
async fn no_overlaps(page: &Page, script: &str, at: &str) -> anyhow::Result<()> {
    let _ = page
        .wait_until(
            "the layout to settle",
            &format!("(() => {{ {script} }})().length === 0"),
        )
        .await;
    let overlaps = page.js(script).await?;
    ensure!(
        overlaps.as_array().is_some_and(Vec::is_empty),
        "at {at}: {overlaps}"
    );
    Ok(())
}

/// The pairs of the stage's parts that overlap, and whether the image passes the window.
const OVERLAPS: &str = r#"
            const parts = ['result-image', 'summary', 'variations', 'action-bar'];
            const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
            const found = [];
            for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
                const a = box(parts[i]), b = box(parts[j]);
                if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
                    found.push(`${parts[i]} / ${parts[j]}`);
            }
            const image = box('result-image');
            if (image.bottom > window.innerHeight + 0.5) found.push('the image passes the window');
            return found;
        "#;

/// The `src` of the variation at `at`, and whether it is selected.
async fn variation(page: &Page, at: usize) -> anyhow::Result<(String, bool)> {
    let found = page
        .js(&format!(
            "const v = document.querySelector('[data-testid=\"variation-{at}\"]'); return v ? [v.querySelector('img').getAttribute('src'), v.getAttribute('aria-selected') === 'true'] : null;"
        ))
        .await?;
    let src = found[0].as_str().context("no such variation")?.to_owned();
    Ok((src, found[1].as_bool().unwrap_or(false)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_variations_by_keyboard_move_through_the_grid_and_download_the_second() {
    run(
        "variations",
        |_| {},
        |page| async move {
            page.viewport(1280, 800).await?;
            reach_result(&page).await?;

            // Four variations, picked with the arrow keys in the radio group beside the shape.
            page.tab_to("count-1").await?;
            let right: char = fantoccini::key::Key::Right.into();
            page.press(&[right, right, right]).await?;
            page.wait_until(
                "four checked",
                "document.querySelector('[data-testid=\"count-4\"]').checked",
            )
            .await?;
            page.tab_to("rethink").await?;
            page.enter().await?;
            page.wait_until(
                "four variations",
                "document.querySelectorAll('[data-testid=\"variations\"] [role=\"option\"]').length === 4",
            )
            .await?;
            wait_for_image(&page).await?;
            let (first, selected) = variation(&page, 0).await?;
            ensure!(selected, "the first variation is selected");
            ensure!(image_src(&page).await? == first, "the stage shows it");
            let mut sources = std::collections::HashSet::new();
            for at in 0..4 {
                sources.insert(variation(&page, at).await?.0);
            }
            ensure!(sources.len() == 4, "four different images: {sources:?}");
            page.check_accessibility("the variations grid").await?;
            check_no_overlap(&page, "1280x800").await?;
            page.screenshot("variations-1280x800").await?;

            // One tab stop: Tab reaches the selected variation, the arrows move the selection.
            page.tab_to("variation-0").await?;
            page.press(&[right]).await?;
            page.wait_for_focus("variation-1").await?;
            let (second, selected) = variation(&page, 1).await?;
            ensure!(selected, "the second variation is selected");
            ensure!(!variation(&page, 0).await?.1, "only one is selected");
            ensure!(image_src(&page).await? == second, "the stage follows the grid");
            let tab_stops = page
                .js("return [...document.querySelectorAll('[data-testid=\"variations\"] [role=\"option\"]')].filter(o => o.tabIndex === 0).length;")
                .await?;
            ensure!(tab_stops == 1, "one tab stop in the grid, got {tab_stops}");
            let end: char = fantoccini::key::Key::End.into();
            let home: char = fantoccini::key::Key::Home.into();
            let left: char = fantoccini::key::Key::Left.into();
            page.press(&[end]).await?;
            page.wait_for_focus("variation-3").await?;
            page.press(&[home, right]).await?;
            page.wait_for_focus("variation-1").await?;
            page.press(&[left, right]).await?;
            page.wait_for_focus("variation-1").await?;

            // Its own download: the second image's bytes.
            page.tab_to("download-link").await?;
            let link = page
                .client
                .find(fantoccini::Locator::Css("[data-testid=\"download-link\"]"))
                .await?;
            let href = link.attr("href").await?.context("download href")?;
            ensure!(href == second, "the download is the selected variation: {href}");
            let (status, kind, head) = page.fetch_head(&href).await?;
            ensure!(status == 200 && kind == "image/png", "{status} {kind}");
            ensure!(head == PNG_MAGIC, "PNG bytes");

            page.viewport(390, 844).await?;
            page.wait_for("variations").await?;
            page.check_accessibility("the variations grid on a phone").await?;
            page.js("window.scrollTo(0, 0); return true;").await?;
            check_no_overlap(&page, "390x844").await?;
            page.screenshot("variations-390x844").await?;
            Ok(())
        },
    )
    .await;
}

/// True once every template card's example picture has loaded (and there are six).
const EXAMPLES_LOADED: &str = "(() => { const imgs = [...document.querySelectorAll('[data-testid^=\"template-example-\"]')]; return imgs.length === 6 && imgs.every(i => i.complete && i.naturalWidth > 0 && i.alt.length > 0); })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_screen_shows_each_templates_example_picture() {
    run(
        "start_examples",
        |_| {},
        |page| async move {
            for (width, height) in [(1280, 800), (390, 844)] {
                page.viewport(width, height).await?;
                page.open("/").await?;
                page.wait_for("template-general-cinematic").await?;
                page.js("window.scrollTo(0, document.body.scrollHeight); return true;")
                    .await?;
                page.wait_until("every example picture to load", EXAMPLES_LOADED)
                    .await?;
                // The picture fills a box of fixed shape: the card did not grow when it arrived.
                let boxes = page
                    .js("return [...document.querySelectorAll('.card-art')].map(b => b.getBoundingClientRect().width / b.getBoundingClientRect().height);")
                    .await?;
                for ratio in boxes.as_array().into_iter().flatten() {
                    let ratio = ratio.as_f64().unwrap_or_default();
                    ensure!((ratio - 16.0 / 9.0).abs() < 0.02, "a 16:9 box, got {ratio}");
                }
                let distinct = page
                    .js("return new Set([...document.querySelectorAll('[data-testid^=\"template-example-\"]')].map(i => i.currentSrc)).size;")
                    .await?;
                ensure!(distinct == 6, "six pictures of their own, got {distinct}");
                page.js("window.scrollTo(0, 0); return true;").await?;
                page.screenshot(&format!("start-{width}x{height}")).await?;
                page.check_accessibility(&format!("the start screen at {width}x{height}"))
                    .await?;
            }
            Ok(())
        },
    )
    .await;
}

/// A small, real PNG (a gradient) written to a temporary file, for the file input.
fn reference_png(name: &str) -> anyhow::Result<std::path::PathBuf> {
    // Wider than the list's 256-pixel preview, so the list shows a preview the server made.
    let picture = image::RgbImage::from_fn(600, 400, |x, y| {
        image::Rgb([
            u8::try_from(x * 2 % 256).unwrap_or(255),
            u8::try_from(y * 3 % 256).unwrap_or(255),
            160,
        ])
    });
    let path = std::env::temp_dir().join(format!(
        "prompt-refinery-e2e-{}-{name}.png",
        std::process::id()
    ));
    picture.save_with_format(&path, image::ImageFormat::Png)?;
    Ok(path)
}

/// Opens the enlarge dialog of the image on the stage by keyboard and returns its recipe's text.
async fn enlarge(page: &Page) -> anyhow::Result<String> {
    page.tab_to("enlarge").await?;
    page.enter().await?;
    page.wait_for_focus("enlarge-close").await?;
    page.wait_until(
        "the recipe in the dialog",
        "document.querySelector('[data-testid=\"enlarge-dialog\"]').open && !!document.querySelector('[data-testid=\"enlarge-recipe\"]')",
    )
    .await?;
    page.text("enlarge-recipe").await
}

/// Closes the enlarge dialog with Escape; focus goes back to its button.
async fn close_enlarged(page: &Page) -> anyhow::Result<()> {
    page.press(&[fantoccini::key::Key::Escape.into()]).await?;
    page.wait_until(
        "the dialog to close",
        "!document.querySelector('[data-testid=\"enlarge-dialog\"]').open",
    )
    .await?;
    page.wait_for_focus("enlarge").await
}

/// The pairs of the workspace's parts that overlap: the image, its caption, the actions, the
/// gallery's thumbnails and its tools.
const GALLERY_OVERLAPS: &str = r#"
    const parts = ['result-image', 'summary', 'action-bar', 'strip', 'gallery-tools'];
    const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
    const found = [];
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
        const a = box(parts[i]), b = box(parts[j]);
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
            found.push(`${parts[i]} / ${parts[j]}`);
    }
    if (document.documentElement.scrollWidth > window.innerWidth) found.push('the page scrolls sideways');
    const tools = box('gallery-tools');
    if (tools.left < 0 || tools.right > window.innerWidth + 0.5) found.push('the tools pass the window');
    return found;
"#;

/// The workspace with its gallery at `width` x `height`: the image and its actions fit, nothing
/// overlaps, the gallery is scrolled into view for the screenshot, and axe finds nothing serious.
async fn gallery_fits(page: &Page, width: u32, height: u32) -> anyhow::Result<()> {
    page.viewport(width, height).await?;
    page.js("window.scrollTo(0, 0); return true;").await?;
    // The image and its actions in view without scrolling, no sideways scroll (as check_fit).
    page.wait_until(&format!("the workspace to fit {width}x{height}"), FITS)
        .await?;
    no_overlaps(page, GALLERY_OVERLAPS, &format!("{width}x{height}")).await?;
    page.js("document.querySelector('[data-testid=\"gallery\"]').scrollIntoView({block: 'end'}); return true;")
        .await?;
    page.screenshot(&format!("gallery-{width}x{height}"))
        .await?;
    page.js("window.scrollTo(0, 0); return true;").await?;
    Ok(())
}

/// Issue 11 end to end, by keyboard: a reference uploaded, an image generated with it, the
/// gallery opened, one image edited in words, a recipe link made and opened in a fresh browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_an_edit_in_words_and_a_recipe_link_by_keyboard() {
    run(
        "gallery",
        |_| {},
        |page| async move {
            page.viewport(1280, 800).await?;
            reach_result(&page).await?;

            // A reference: the labelled file input reached with Tab (WebDriver types the file's
            // path into it, as choosing one in the file dialog does), a note, Enter.
            let png = reference_png("reference")?;
            page.tab_to("reference-file").await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=\"reference-file\"]"))
                .await?
                .send_keys(&png.display().to_string())
                .await?;
            page.tab_to("reference-note").await?;
            page.type_text("our product").await?;
            page.enter().await?;
            page.wait_for("reference-0").await?;
            let _ = std::fs::remove_file(&png);
            ensure!(
                page.text("reference-0").await?.contains("our product"),
                "the reference is listed with its note"
            );
            page.wait_until(
                "the reference's preview to load",
                "(() => { const i = document.querySelector('[data-testid=\"reference-0\"] img'); return i && i.complete && i.naturalWidth === 256 && i.getAttribute('src').endsWith('?w=256'); })()",
            )
            .await?;
            ensure!(
                page.text("announcer").await?.contains("our product"),
                "the live region says it was added"
            );
            page.check_accessibility("the brief with a reference").await?;

            // Generate with it: a second image, and both are in the gallery as small thumbnails.
            let first = image_src(&page).await?;
            page.tab_to("rethink").await?;
            page.enter().await?;
            page.wait_for("thumb-1").await?;
            wait_for_image(&page).await?;
            ensure!(image_src(&page).await? != first, "a new image");
            page.wait_until(
                "thumbnails served small",
                "[...document.querySelectorAll('[data-testid^=\"thumb-\"] img')].every(i => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 256 && i.getAttribute('src').includes('?w='))",
            )
            .await?;

            // The gallery: enlarge shows the full image and how it was made, never a prompt.
            let recipe = enlarge(&page).await?;
            ensure!(recipe.contains(IDEA), "the idea: {recipe}");
            ensure!(recipe.contains("a rocky Atlantic island at dusk"), "the answers: {recipe}");
            ensure!(!recipe.to_lowercase().contains("prompt"), "no prompt: {recipe}");
            page.check_accessibility("the enlarged image").await?;
            page.screenshot("gallery-enlarged").await?;
            // The server records the references sent with a generation.
            ensure!(
                recipe.contains("Reference images"),
                "the recipe names the reference sent: {recipe}"
            );
            close_enlarged(&page).await?;

            // Edit in words: the short field, Enter, and the job followed like any other.
            page.tab_to("edit-open").await?;
            page.enter().await?;
            page.wait_for_focus("edit-instruction").await?;
            page.check_accessibility("the edit-in-words field").await?;
            page.type_text("make it night, with rain").await?;
            page.enter().await?;
            page.wait_for("thumb-2").await?;
            wait_for_image(&page).await?;
            let recipe = enlarge(&page).await?;
            // An edit in words: the recipe records the instruction.
            ensure!(
                page.text("recipe-edit").await.unwrap_or_default() == "make it night, with rain",
                "the new image is an edit in words: {recipe}"
            );
            close_enlarged(&page).await?;

            gallery_fits(&page, 1280, 800).await?;
            gallery_fits(&page, 390, 844).await?;
            page.viewport(1280, 800).await?;

            // A recipe link of the edited image, shown selected in a field to copy.
            page.tab_to("copy-recipe-link").await?;
            page.enter().await?;
            page.wait_for_focus("recipe-link").await?;
            let link = page.value("recipe-link").await?;
            ensure!(
                link.starts_with(&format!("{}/r/", page.base)),
                "a full link: {link}"
            );

            // Opened in a fresh browser: the brief and the thumbnail show; Make it by keyboard.
            let partner = page.fresh_browser().await?;
            let opened = async {
                partner.client.goto(&link).await?;
                partner.wait_for("recipe-brief").await?;
                let brief = partner.text("recipe-brief").await?;
                ensure!(brief.contains(IDEA), "the partner sees the idea: {brief}");
                partner
                    .wait_until(
                        "the recipe's thumbnail",
                        "(() => { const i = document.querySelector('[data-testid=\"recipe-thumbnail\"]'); return i && i.complete && i.naturalWidth > 0; })()",
                    )
                    .await?;
                partner.check_accessibility("the recipe page in a fresh browser").await?;
                partner.tab_to("make-it").await?;
                partner.enter().await?;
                partner
                    .wait_until("the partner's workspace", "location.pathname === '/workspace'")
                    .await?;
                partner.wait_for("answers-idea").await?;
                ensure!(partner.text("answers-idea").await?.contains(IDEA));
                partner.screenshot("gallery-partner").await?;
                Ok(())
            }
            .await;
            partner.close_fresh().await;
            opened?;

            // Delete asks first, then the image goes and focus stays in the gallery.
            page.tab_to("delete-image").await?;
            page.enter().await?;
            page.wait_for_focus("delete-cancel").await?;
            page.tab_to("delete-confirm-button").await?;
            page.enter().await?;
            page.wait_until(
                "two images left",
                "document.querySelectorAll('[data-testid^=\"thumb-\"]').length === 2",
            )
            .await?;
            page.wait_for_focus("thumb-0").await?;
            ensure!(
                page.text("announcer").await?.contains("Image deleted"),
                "the live region says so"
            );
            Ok(())
        },
    )
    .await;
}
