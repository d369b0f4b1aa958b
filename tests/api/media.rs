//! Working with what you have: the session's reference images used in a generation (inline parts
//! to Gemini in upload order before the prompt, the prompt writer told their count and notes, the
//! recipe naming them, the offline preview drawing them), and edits in words (every request rule,
//! the image and its thought signature sent back, an edit of an edit, one quota unit, another
//! session's image refused, the offline redraw) — against the provider simulator's real wire
//! formats, and never leaking the prompt.

use std::io::Cursor;
use std::time::Duration;

use api_tests::storage::image_to_store;
use contracts::{GalleryResponse, ImageView, JobStatus, MetaResponse, ReferenceView, codes, paths};
use image::{ImageFormat, Rgb, RgbImage, RgbaImage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::{NanoBananaMode, Settings, SynthesisFallback};
use simulator::{Config, ReceivedPart, thought_signature};
use store::images::NewImage;

use crate::helpers::{Person, TestApp, error_of, live_providers_at, spawn_app, spawn_app_with};
use crate::references::{Part, noise_png};

/// Words only the simulator's synthesized prompt contains.
const PROMPT_MARKER: &str = "richly detailed, cinematic image";

async fn live(configure: impl FnOnce(&mut Settings)) -> (TestApp, simulator::Handle) {
    let (addr, sim) = simulator::spawn(Config::default())
        .await
        .expect("the simulator starts");
    let app = spawn_app_with(|s| {
        live_providers_at(s, addr);
        s.openai.fallback = SynthesisFallback::Off;
        configure(s);
    })
    .await;
    (app, sim)
}

fn solid_png(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(48, 32, Rgb(rgb))
        .write_to(&mut out, ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

fn decode(bytes: &[u8]) -> RgbaImage {
    image::load_from_memory(bytes).expect("an image").to_rgba8()
}

fn pixels_of(image: &RgbaImage, rgb: [u8; 3]) -> usize {
    image.pixels().filter(|p| p.0[..3] == rgb).count()
}

fn mean_luma(image: &RgbaImage) -> f64 {
    let sum: f64 = image
        .pixels()
        .map(|p| {
            0.2126 * f64::from(p.0[0]) + 0.7152 * f64::from(p.0[1]) + 0.0722 * f64::from(p.0[2])
        })
        .sum();
    sum / f64::from(image.width() * image.height())
}

impl Person {
    async fn bytes_of(&self, path: &str) -> Vec<u8> {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.bytes().await.expect("bytes").to_vec()
    }

    async fn made(&self, body: Value) -> ImageView {
        let job = self.generate(body).await;
        let job = self.finished(&job.job_id).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
        job.image.expect("an image")
    }

    async fn edit(&self, image_id: &str, instruction: &str) -> ImageView {
        self.made(json!({"editOf": image_id, "instruction": instruction}))
            .await
    }

    async fn images(&self) -> GalleryResponse {
        let response = self.get(paths::SESSION_IMAGES).await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.expect("body");
        assert!(!text.contains(PROMPT_MARKER), "the prompt leaked: {text}");
        serde_json::from_str(&text).expect("a gallery")
    }
}

fn generate_calls(sim: &simulator::Handle) -> Vec<simulator::Received> {
    sim.received()
        .into_iter()
        .filter(|r| r.path.ends_with(":generateContent"))
        .collect()
}

fn openai_inputs(sim: &simulator::Handle) -> Vec<String> {
    sim.received()
        .into_iter()
        .filter(|r| r.path == "/v1/responses")
        .map(|r| r.body["input"].to_string())
        .collect()
}

#[tokio::test]
async fn references_reach_gemini_in_order_before_the_prompt_and_the_writer_knows_them() {
    let (app, sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("our bottle on a beach").await;
    let product: ReferenceView = app
        .add_reference(solid_png([250, 0, 10]), "our product")
        .await;
    let style = app.add_reference(solid_png([0, 200, 40]), "").await;
    let jpeg = {
        let mut out = Cursor::new(Vec::new());
        RgbImage::from_pixel(20, 20, Rgb([10, 20, 230]))
            .write_to(&mut out, ImageFormat::Jpeg)
            .expect("encodes");
        out.into_inner()
    };
    let response = app
        .upload(&[Part::file("image/jpeg", jpeg), Part::note("style to match")])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let third: ReferenceView = response.json().await.expect("a reference");
    assert_eq!(third.mime_type, "image/jpeg");

    let image = app.made(json!({})).await;
    assert!(!image.offline_preview);

    let calls = generate_calls(&sim);
    assert_eq!(calls.len(), 1);
    let turns = calls[0].turns();
    assert_eq!(turns.len(), 1, "one user turn");
    assert_eq!(turns[0].0, "user");
    let parts = &turns[0].1;
    assert_eq!(parts.len(), 4, "three images, then the text");
    for (part, reference) in parts.iter().zip([&product, &style, &third]) {
        let stored = app.bytes_of(&reference.url).await;
        assert_eq!(
            part,
            &ReceivedPart::Image {
                mime_type: reference.mime_type.clone(),
                bytes: stored,
                thought_signature: None,
            },
            "in upload order, with the stored bytes and type"
        );
    }
    let ReceivedPart::Text(prompt) = &parts[3] else {
        panic!("the prompt text comes last: {:?}", parts[3]);
    };
    assert!(prompt.contains(PROMPT_MARKER));

    let inputs = openai_inputs(&sim);
    assert_eq!(inputs.len(), 1);
    let brief = &inputs[0];
    assert!(brief.contains("Reference images: 3"), "{brief}");
    assert!(brief.contains("Image 1 (first): our product"), "{brief}");
    assert!(brief.contains("Image 2 (second): (no note)"), "{brief}");
    assert!(brief.contains("Image 3 (third): style to match"), "{brief}");

    let gallery = app.images().await;
    assert_eq!(
        gallery.images[0].recipe.reference_ids,
        vec![product.reference_id, style.reference_id, third.reference_id]
    );

    // A new take after a reference is removed sends the references as they are now, with a
    // prompt written for them.
    let response = app.delete(&style.url).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.made(json!({"reusePrompt": true})).await;
    let calls = generate_calls(&sim);
    let images = calls[1].turns()[0]
        .1
        .iter()
        .filter(|p| matches!(p, ReceivedPart::Image { .. }))
        .count();
    assert_eq!(images, 2);
    let inputs = openai_inputs(&sim);
    assert_eq!(inputs.len(), 2, "the prompt is written again");
    assert!(inputs[1].contains("Reference images: 2"), "{}", inputs[1]);
}

#[tokio::test]
async fn adding_a_reference_rewrites_the_speculative_prompt_once_and_generate_uses_it() {
    let (app, sim) = live(|s| s.speculative_synthesis = true).await;
    app.ready_session("our bottle on a beach").await;
    app.add_reference(solid_png([250, 0, 10]), "our product")
        .await;
    app.made(json!({})).await;
    let with_note: Vec<String> = openai_inputs(&sim)
        .into_iter()
        .filter(|input| input.contains("our product"))
        .collect();
    assert_eq!(
        with_note.len(),
        1,
        "the brief with the reference is written once, ahead of Generate, and used by it"
    );
    let calls = generate_calls(&sim);
    assert_eq!(
        calls[0].turns()[0].1.len(),
        2,
        "the reference, then the prompt"
    );
}

#[tokio::test]
async fn a_new_take_after_the_references_changed_writes_the_prompt_for_them() {
    let (app, sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("our bottle on a beach").await;
    app.made(json!({})).await;
    app.made(json!({"reusePrompt": true})).await;
    assert_eq!(
        openai_inputs(&sim).len(),
        1,
        "a new take with the same images reuses the prompt"
    );

    let reference = app
        .add_reference(solid_png([250, 0, 10]), "our product")
        .await;
    app.made(json!({"reusePrompt": true})).await;
    let inputs = openai_inputs(&sim);
    assert_eq!(inputs.len(), 2, "the prompt is written again: {inputs:?}");
    assert!(
        inputs[1].contains("our product"),
        "for the reference it goes with: {}",
        inputs[1]
    );
    assert_eq!(
        generate_calls(&sim).last().expect("a call").turns()[0]
            .1
            .len(),
        2,
        "the reference, then the prompt"
    );
    app.made(json!({"reusePrompt": true})).await;
    assert_eq!(openai_inputs(&sim).len(), 2, "then reused while they stay");

    let removed = app.delete(&paths::reference(&reference.reference_id)).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    app.made(json!({"reusePrompt": true})).await;
    let inputs = openai_inputs(&sim);
    assert_eq!(inputs.len(), 3, "and written again once it is gone");
    assert!(!inputs[2].contains("our product"), "{}", inputs[2]);
}

#[tokio::test]
async fn the_offline_preview_draws_each_reference_as_an_inset() {
    let app = spawn_app().await;
    app.ready_session("our bottle on a beach").await;
    let plain = app.made(json!({})).await;
    let red = [250, 0, 10];
    let plain_pixels = decode(&app.bytes_of(&plain.url).await);
    assert_eq!(pixels_of(&plain_pixels, red), 0);

    let reference = app.add_reference(solid_png(red), "our product").await;
    let with = app.made(json!({"reusePrompt": true})).await;
    let drawn = decode(&app.bytes_of(&with.url).await);
    assert!(
        pixels_of(&drawn, red) > 5_000,
        "the inset shows the reference: {} pixels",
        pixels_of(&drawn, red)
    );
    let gallery = app.images().await;
    assert_eq!(
        gallery.images[0].recipe.reference_ids,
        vec![reference.reference_id]
    );
    assert!(gallery.images[1].recipe.reference_ids.is_empty());
}

#[tokio::test]
async fn every_malformed_edit_request_is_refused_before_anything_is_spent() {
    let app = spawn_app().await;
    app.ready_session("a harbour at noon").await;
    let image = app.made(json!({})).await;
    let id = image.image_id.as_str();
    let long = "a".repeat(301);
    let cases = [
        json!({"editOf": id}),
        json!({"instruction": "make it night"}),
        json!({"editOf": id, "instruction": "   "}),
        json!({"editOf": id, "instruction": ""}),
        json!({"editOf": id, "instruction": long}),
        json!({"editOf": id, "instruction": "make it night", "count": 2}),
        json!({"editOf": id, "instruction": "make it night", "reusePrompt": true}),
        json!({"editOf": id, "instruction": "make it night", "aspectRatio": "9:16"}),
        json!({"editOf": id, "instruction": "make it night", "imageSize": "2K"}),
    ];
    for body in cases {
        let (status, error) = error_of(app.post_json(paths::GENERATE, &body).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST),
            "{body}: {error:?}"
        );
    }
    // Exactly 300 characters (after trimming) is fine, and count 1 may be said.
    let edge = format!("  {}  ", "b".repeat(300));
    let edited = app
        .made(json!({"editOf": id, "instruction": edge, "count": 1}))
        .await;
    let gallery = app.images().await;
    assert_eq!(
        gallery.images.len(),
        2,
        "only the one valid edit made an image"
    );
    assert_eq!(gallery.images[0].image.image_id, edited.image_id);
    assert_eq!(
        gallery.images[0].recipe.edit_instruction.as_deref(),
        Some("b".repeat(300).as_str())
    );
}

#[tokio::test]
async fn an_unknown_image_or_another_sessions_is_not_found() {
    let app = spawn_app().await;
    app.ready_session("a harbour at noon").await;
    let mine = app.made(json!({})).await;
    let other = app.another_person();
    other.ready_session("a fox").await;
    for id in [
        mine.image_id.as_str(),
        "0123456789abcdef0123456789abcdef",
        "../x",
    ] {
        let (status, error) = error_of(
            other
                .post_json(
                    paths::GENERATE,
                    &json!({"editOf": id, "instruction": "make it night"}),
                )
                .await,
        )
        .await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND),
            "{id}"
        );
    }
    let theirs: GalleryResponse = other.images().await;
    assert!(theirs.images.is_empty(), "nothing was made for them");
}

#[tokio::test]
async fn an_offline_edit_redraws_the_image_in_the_instructions_palette_and_records_its_recipe() {
    let app = spawn_app().await;
    let ready = app.ready_session("a harbour at noon").await;
    let day = app.made(json!({"aspectRatio": "3:2"})).await;
    let job = app
        .generate(json!({"editOf": day.image_id, "instruction": "  make it night, with rain "}))
        .await;
    // Like any job: the event stream reports it to the end.
    let events = crate::helpers::EventReader::new(app.job_events(&job.job_id, None).await)
        .all()
        .await;
    let last = events.last().expect("events").job();
    assert_eq!(last.status, JobStatus::Succeeded, "{:?}", last.error);
    let night = last.image.expect("an image");
    assert!(night.offline_preview);
    assert_ne!(night.image_id, day.image_id);
    assert_eq!((night.width, night.height), (day.width, day.height));
    assert_eq!(night.aspect_ratio, day.aspect_ratio);
    assert!(
        night.alt.contains("edited: make it night, with rain"),
        "{}",
        night.alt
    );

    let before = decode(&app.bytes_of(&day.url).await);
    let after = decode(&app.bytes_of(&night.url).await);
    assert!(
        mean_luma(&after) + 30.0 < mean_luma(&before),
        "night is darker: {} vs {}",
        mean_luma(&after),
        mean_luma(&before)
    );

    let gallery = app.images().await;
    let (edited, original) = (&gallery.images[0], &gallery.images[1]);
    assert_eq!(edited.image.image_id, night.image_id);
    assert_eq!(
        edited.recipe.edit_instruction.as_deref(),
        Some("make it night, with rain")
    );
    assert_eq!(
        edited.recipe.edit_of.as_deref(),
        Some(day.image_id.as_str())
    );
    assert_eq!(edited.recipe.idea, original.recipe.idea);
    assert_eq!(edited.recipe.answers, original.recipe.answers);
    assert_eq!(edited.recipe.template_id, ready.template_id);
    assert_eq!(edited.recipe.count, Some(1));
    assert!(original.recipe.edit_of.is_none());
}

#[tokio::test]
async fn an_edit_of_an_edit_sends_each_image_back_with_its_thought_signature_for_one_unit_each() {
    let (app, sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("a lighthouse keeper feeding a stray cat")
        .await;
    app.add_reference(solid_png([250, 0, 10]), "our product")
        .await;
    let first = app.made(json!({})).await;
    assert_eq!(app.quota_used_globally().await, 1);

    let second = app.edit(&first.image_id, "make it night, with rain").await;
    let third = app.edit(&second.image_id, "add a red kite").await;
    assert_eq!(app.quota_used_globally().await, 3, "one unit per edit");
    assert_eq!(
        openai_inputs(&sim).len(),
        1,
        "no prompt is written for an edit"
    );

    let calls = generate_calls(&sim);
    assert_eq!(calls.len(), 3);
    for (call, (image, n, instruction)) in calls[1..].iter().zip([
        (&first, 0, "make it night, with rain"),
        (&second, 1, "add a red kite"),
    ]) {
        let bytes = app.bytes_of(&image.url).await;
        assert_eq!(
            call.turns(),
            vec![
                (
                    "model".to_owned(),
                    vec![ReceivedPart::Image {
                        mime_type: "image/png".into(),
                        bytes,
                        thought_signature: Some(thought_signature(n)),
                    }]
                ),
                (
                    "user".to_owned(),
                    vec![ReceivedPart::Text(instruction.to_owned())]
                ),
            ],
            "the edited image as the model's signed turn, then the instruction; no references"
        );
        assert!(!call.body.to_string().contains(PROMPT_MARKER));
    }

    let gallery = app.images().await;
    let ids: Vec<&str> = gallery
        .images
        .iter()
        .map(|i| i.image.image_id.as_str())
        .collect();
    assert_eq!(ids, [&third.image_id, &second.image_id, &first.image_id]);
    assert_eq!(
        gallery.images[0].recipe.edit_of.as_deref(),
        Some(second.image_id.as_str())
    );
    assert!(gallery.images[0].recipe.reference_ids.is_empty());
    let job_text = app.get(paths::SESSION).await.text().await.expect("body");
    assert!(!job_text.contains(PROMPT_MARKER));
}

#[tokio::test]
async fn a_deleted_image_cannot_be_edited_and_costs_nothing() {
    let (app, _sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("a lighthouse").await;
    let image = app.made(json!({})).await;
    let response = app.delete(&paths::image(&image.image_id)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_of(
        app.post_json(
            paths::GENERATE,
            &json!({"editOf": image.image_id, "instruction": "make it night"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND)
    );
    assert_eq!(
        app.quota_used_globally().await,
        1,
        "no unit for the refusal"
    );
}

#[tokio::test]
async fn an_image_too_large_to_send_back_is_refused_for_edits_before_anything_is_spent() {
    let (app, sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("a mosaic of sea glass").await;
    let made = app.made(json!({})).await;
    let mine = app
        .state
        .images
        .record(&made.image_id)
        .await
        .expect("the store answers")
        .expect("the image is stored");
    // A 4K PNG of fine detail: more than Gemini takes back inline in one request.
    let bytes = noise_png(2600, 2000, 7);
    assert!(bytes.len() > 14_000_000, "{} bytes", bytes.len());
    let large = app
        .state
        .images
        .insert(NewImage {
            session: mine.session,
            job_id: "a-4k-job".into(),
            width: 2600,
            height: 2000,
            alt: "sea glass".into(),
            summary: "sea glass".into(),
            aspect_ratio: made.aspect_ratio,
            ..image_to_store(bytes)
        })
        .await
        .expect("stored");
    let calls_before = generate_calls(&sim).len();

    let (status, error) = error_of(
        app.post_json(
            paths::GENERATE,
            &json!({"editOf": large, "instruction": "make it night"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST)
    );
    assert!(error.error.contains("at most 14.0 MB"), "{}", error.error);
    assert_eq!(generate_calls(&sim).len(), calls_before, "nothing sent");
    assert_eq!(
        app.quota_used_globally().await,
        1,
        "no unit for the refusal"
    );

    // The image it came from is small enough, and edits as before.
    app.edit(&made.image_id, "make it night").await;
    assert_eq!(generate_calls(&sim).len(), calls_before + 1);
}

#[tokio::test]
async fn task_mode_says_it_takes_no_reference_images_and_no_edits() {
    let (app, sim) = live(|s| {
        s.speculative_synthesis = false;
        s.nanobanana.mode = NanoBananaMode::Task;
        s.nanobanana.task.api_url = s.nanobanana.api_url.clone();
        s.nanobanana.task.poll_initial = Duration::from_millis(10);
        s.nanobanana.allow_private_result_urls = true;
    })
    .await;
    let meta: MetaResponse = app.get(paths::META).await.json().await.expect("meta");
    assert!(
        !meta.takes_images,
        "the browser app hides uploads and edits"
    );
    app.ready_session("a lighthouse").await;
    let image = app.made(json!({})).await;
    let (status, error) = error_of(
        app.post_json(
            paths::GENERATE,
            &json!({"editOf": image.image_id, "instruction": "make it night"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error.code, codes::INVALID_REQUEST);
    assert!(error.error.contains("cannot edit"), "{}", error.error);

    app.add_reference(solid_png([250, 0, 10]), "our product")
        .await;
    let (status, error) = error_of(app.post_json(paths::GENERATE, &json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error.error.contains("takes no reference images"),
        "{}",
        error.error
    );
    let submitted = sim
        .received()
        .iter()
        .filter(|r| r.path == "/api/v1/jobs/createTask")
        .count();
    assert_eq!(
        submitted, 1,
        "only the first generation reached the service"
    );
    assert_eq!(app.quota_used_globally().await, 1, "refusals cost nothing");
}

#[tokio::test]
async fn references_over_geminis_request_limit_are_refused_before_anything_is_spent() {
    let (app, sim) = live(|s| s.speculative_synthesis = false).await;
    app.ready_session("a mosaic of sea glass").await;
    let mut references = Vec::new();
    for seed in 1..=3 {
        references.push(app.add_reference(noise_png(1500, 1100, seed), "").await);
    }
    let (status, error) = error_of(app.post_json(paths::GENERATE, &json!({})).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST)
    );
    assert!(
        error.error.contains("Delete one to generate"),
        "{}",
        error.error
    );
    assert!(generate_calls(&sim).is_empty() && openai_inputs(&sim).is_empty());
    assert_eq!(app.quota_used_globally().await, 0);

    // Two of them fit: about 10 MB of images reach the simulator inline.
    let response = app.delete(&references[2].url).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.made(json!({})).await;
    let calls = generate_calls(&sim);
    let sent: usize = calls[0].turns()[0]
        .1
        .iter()
        .map(|p| match p {
            ReceivedPart::Image { bytes, .. } => bytes.len(),
            _ => 0,
        })
        .sum();
    assert!(sent > 9_000_000, "{sent} bytes of images sent");
}
