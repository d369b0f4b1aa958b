//! Not a check: screenshots of every screen at 360 px and 1440 px wide, for a person to look at.
//! Run with `cargo test -p e2e --test gallery -- --ignored`; files land in e2e/screenshots/gallery-*.

use std::time::Duration;

use e2e::{Page, run};

async fn both_widths(page: &Page, name: &str) -> anyhow::Result<()> {
    for (width, height) in [(360, 800), (1440, 900)] {
        page.client.set_window_size(width, height).await?;
        page.wait_until(
            "the new width",
            &format!("Math.abs(window.innerWidth - {width}) < 40"),
        )
        .await?;
        page.screenshot(&format!("gallery-{name}-{width}")).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "produces screenshots for review; run on demand"]
async fn every_screen_at_two_widths() {
    run(
        "gallery-last",
        |settings| {
            settings.offline.image_faults = "provider_unavailable".into();
            settings.offline.latency = Duration::from_millis(1500);
        },
        |page| async move {
            page.open("/").await?;
            page.wait_for("idea-input").await?;
            page.wait_for("offline-badge").await?;
            both_widths(&page, "1-start").await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=start-button]"))
                .await?
                .click()
                .await?;
            page.wait_until(
                "the idea error",
                "document.querySelector('#idea-error').textContent.length > 0",
            )
            .await?;
            both_widths(&page, "2-start-invalid").await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=idea-input]"))
                .await?
                .send_keys("a lighthouse keeper feeding gulls in a storm")
                .await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=start-button]"))
                .await?
                .click()
                .await?;
            page.wait_for_question(1).await?;
            page.wait_for_focus("answer-input").await?;
            page.type_text("idk").await?;
            page.enter().await?;
            page.wait_for("reask-notice").await?;
            both_widths(&page, "3-question-reask").await?;
            page.wait_for_focus("answer-input").await?;
            page.type_text("a rocky Atlantic island at dusk").await?;
            page.enter().await?;
            page.wait_for_question(2).await?;
            page.wait_for_focus("answer-input").await?;
            both_widths(&page, "4-question-2").await?;
            page.type_text("wild, stormy, silver and slate blue")
                .await?;
            page.enter().await?;
            page.wait_for_question(3).await?;
            page.wait_for_focus("answer-input").await?;
            page.type_text("wide shot from a low angle").await?;
            page.enter().await?;
            page.wait_for("generate-button").await?;
            both_widths(&page, "5-ready").await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=generate-button]"))
                .await?
                .click()
                .await?;
            page.wait_for("stage").await?;
            page.client.set_window_size(360, 800).await?;
            page.screenshot("gallery-6-generating-360").await?;
            page.wait_for("job-error").await?;
            both_widths(&page, "7-failed").await?;
            page.client
                .find(fantoccini::Locator::Css("[data-testid=retry-button]"))
                .await?
                .click()
                .await?;
            page.wait_for("stage").await?;
            page.client.set_window_size(1440, 900).await?;
            page.screenshot("gallery-6-generating-1440").await?;
            page.wait_for("result-image").await?;
            page.wait_for_focus("result-heading").await?;
            both_widths(&page, "8-result").await?;
            Ok(())
        },
    )
    .await;
}
