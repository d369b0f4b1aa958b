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

/// Answers all three questions plainly and asks for the image; ends on the result.
async fn reach_result(page: &Page) -> anyhow::Result<()> {
    start(page).await?;
    answer(page, "a rocky Atlantic island at dusk").await?;
    page.wait_for_question(2).await?;
    answer(page, "wild, stormy, silver and slate blue").await?;
    page.wait_for_question(3).await?;
    answer(page, "wide shot from a low angle").await?;
    generate(page).await
}

/// From the Ready screen: Tab to "Create the image", Enter, wait for the image.
async fn generate(page: &Page) -> anyhow::Result<()> {
    page.wait_for_focus("ready-heading").await?;
    page.tab_to("generate-button").await?;
    page.enter().await?;
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

            // A sparse answer is asked again, with the reason and the hint.
            answer(&page, "idk").await?;
            page.wait_for("reask-notice").await?;
            page.wait_for_focus("answer-input").await?;
            ensure!(
                !page.text("question-hint").await?.is_empty(),
                "the hint shows"
            );
            answer(&page, "a rocky Atlantic island at dusk").await?;

            // The second is skipped.
            page.wait_for_question(2).await?;
            page.tab_to("skip-button").await?;
            page.enter().await?;

            page.wait_for_question(3).await?;
            answer(&page, "wide shot from a low angle").await?;
            let answers = {
                page.wait_for("answers").await?;
                page.text("answers").await?
            };
            ensure!(answers.contains("rocky Atlantic island"), "{answers}");
            ensure!(answers.contains("skipped"), "{answers}");

            generate(&page).await?;
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
            page.wait_for_focus("ready-heading").await?;
            page.tab_to("generate-button").await?;
            page.enter().await?;

            // The message shows in an alert, which takes focus; the answers are still there.
            page.wait_for("job-error").await?;
            page.wait_for_focus("job-error").await?;
            let message = page.text("job-error").await?;
            ensure!(message.contains("answers are kept"), "{message}");
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

            // Change answers: each question comes back prefilled; change the second.
            page.tab_to("change-answers").await?;
            page.enter().await?;
            page.wait_for_question(1).await?;
            page.wait_for_focus("answer-input").await?;
            page.wait_until(
                "question 1 prefilled",
                "document.querySelector('[data-testid=\"answer-input\"]').value === 'a rocky Atlantic island at dusk'",
            )
            .await?;
            page.enter().await?;
            page.wait_for_question(2).await?;
            page.wait_until(
                "question 2 prefilled",
                "document.querySelector('[data-testid=\"answer-input\"]').value.includes('slate blue')",
            )
            .await?;
            page.wait_for_focus("answer-input").await?;
            page.select_all().await?;
            page.type_text("calm, warm lamplight, amber and deep green").await?;
            page.enter().await?;
            page.wait_for_question(3).await?;
            page.wait_until(
                "question 3 prefilled",
                "document.querySelector('[data-testid=\"answer-input\"]').value === 'wide shot from a low angle'",
            )
            .await?;
            page.enter().await?;
            generate(&page).await?;
            let answers = page.text("answers").await?;
            ensure!(answers.contains("amber and deep green"), "{answers}");
            ensure!(!answers.contains("slate blue"), "{answers}");

            // Start over, keeping the idea in the field.
            page.tab_to("keep-idea").await?;
            let kept = page
                .js("return document.querySelector('[data-testid=\"keep-idea\"]').checked;")
                .await?;
            ensure!(kept == serde_json::Value::Bool(true), "keep-idea is on by default");
            page.tab_to("start-over").await?;
            page.enter().await?;
            page.wait_for("idea-input").await?;
            page.wait_for_focus("start-heading").await?;
            ensure!(page.value("idea-input").await? == IDEA, "the idea is kept");
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
            page.wait_for_focus("ready-heading").await?;
            page.tab_to("generate-button").await?;
            page.enter().await?;

            // A reload while the image is being made picks the running job up again.
            page.wait_for("stage").await?;
            page.client.refresh().await?;
            page.wait_for("stage").await?;
            wait_for_image(&page).await
        },
    )
    .await;
}
