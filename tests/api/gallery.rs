//! The session's gallery (every image, newest first, each with its recipe and never the prompt),
//! thumbnails, deleting an image, and recipe links (read without a session, started from in a
//! fresh cookie jar).

use contracts::{
    AspectRatio, GalleryResponse, ImageView, JobStatus, RecipeCreated, RecipeView, SessionStatus,
    SessionView, codes, paths,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Person, TestApp, error_of, expected_prompt, spawn_app};

impl Person {
    async fn gallery(&self) -> GalleryResponse {
        let response = self.get(paths::SESSION_IMAGES).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a gallery")
    }

    async fn image_made(&self, body: serde_json::Value) -> ImageView {
        let job = self.generate(body).await;
        let job = self.finished(&job.job_id).await;
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
        job.image.expect("an image")
    }

    async fn share(&self, body: Option<serde_json::Value>) -> RecipeCreated {
        let request = self.client.post(self.url(paths::RECIPES));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a recipe link")
    }
}

/// A session with two images: a default one, then a 9:16 one after question 2 was skipped.
async fn two_images(app: &TestApp) -> (SessionView, ImageView, ImageView) {
    app.ready_session("a lighthouse keeper's cat").await;
    let first = app.image_made(json!({})).await;
    let response = app
        .client
        .put(app.url(&paths::answer(2)))
        .json(&json!({"skip": true}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let second = app.image_made(json!({"aspectRatio": "9:16"})).await;
    (app.session().await, first, second)
}

#[tokio::test]
async fn the_gallery_lists_every_image_newest_first_with_its_recipe_and_never_the_prompt() {
    let app = spawn_app().await;
    let (session, first, second) = two_images(&app).await;

    let response = app.get(paths::SESSION_IMAGES).await;
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains(&expected_prompt(&session.idea, &session)),
        "the prompt never leaves the server"
    );
    let gallery: GalleryResponse = serde_json::from_str(&text).expect("a gallery");
    let shown: Vec<&ImageView> = gallery.images.iter().map(|i| &i.image).collect();
    assert_eq!(shown, vec![&second, &first]);
    let [newest, oldest] = &gallery.images[..] else {
        panic!("two images");
    };
    assert_eq!(newest.image.image_id, second.id());
    assert_eq!(newest.recipe.aspect_ratio, AspectRatio::Portrait9x16);
    assert_eq!(oldest.recipe.aspect_ratio, AspectRatio::Landscape16x9);
    for image in [newest, oldest] {
        assert_eq!(image.recipe.template_id, "general-cinematic");
        assert_eq!(image.recipe.idea, "a lighthouse keeper's cat");
        assert_eq!(image.recipe.answers.len(), 3);
        assert!(image.recipe.reference_ids.is_empty());
        assert_eq!(image.recipe.image_size.as_deref(), Some("1K"));
        assert_eq!(image.recipe.count, Some(1));
        assert_eq!(image.recipe.edit_of, None);
    }
    // The recipe is the brief as it was when each image was made.
    assert!(!oldest.recipe.answers[1].skipped);
    assert!(newest.recipe.answers[1].skipped && newest.recipe.answers[1].defaulted);
    assert_eq!(newest.recipe.answers, session.answers);

    // Another session sees only its own (none yet).
    let stranger = app.another_person();
    stranger.start("a kite").await;
    assert!(stranger.gallery().await.images.is_empty());
}

#[tokio::test]
async fn thumbnails_are_small_jpegs_of_a_few_widths() {
    let app = spawn_app().await;
    app.ready_session("a harbour at dawn").await;
    let image = app.image_made(json!({})).await;
    let gallery = app.gallery().await;
    let thumbnail_url = &gallery.images[0].thumbnail_url;
    assert_eq!(thumbnail_url, &paths::thumbnail(image.id(), 256));

    let original = app.get(&image.url).await.bytes().await.expect("bytes");
    for _ in 0..2 {
        // Made on the first request, served from the store on the second.
        let response = app.get(thumbnail_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        let small = response.bytes().await.expect("bytes");
        let decoded = image::load_from_memory(&small).expect("a JPEG");
        assert_eq!(decoded.width(), 256);
        let expected_height = f64::from(image.height) * 256.0 / f64::from(image.width);
        assert!((f64::from(decoded.height()) - expected_height).abs() <= 1.0);
        assert!(
            small.len() * 4 < original.len(),
            "{} vs {}",
            small.len(),
            original.len()
        );
    }
    // Kept: served from itself, the original not read (removed here by hand, as an operator
    // might; the image itself is then gone).
    let kept = app.get(thumbnail_url).await.bytes().await.expect("bytes");
    app.storage.remove_object(image.id()).await;
    assert_eq!(app.get(&image.url).await.status(), StatusCode::NOT_FOUND);
    let response = app.get(thumbnail_url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.expect("bytes"), kept);
    for bad in ["300", "0", "abc"] {
        let (status, error) = error_of(app.get(&format!("{}?w={bad}", image.url)).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST),
            "w={bad}"
        );
    }
}

#[tokio::test]
async fn an_image_is_deleted_by_its_own_session_only_bytes_and_thumbnail_too() {
    let app = spawn_app().await;
    let (_, first, second) = two_images(&app).await;
    assert_eq!(
        app.get(&paths::thumbnail(first.id(), 128)).await.status(),
        StatusCode::OK
    );
    let (images_before, _) = app.images_stored().await;

    let stranger = app.another_person();
    stranger.start("a kite").await;
    let (status, error) = error_of(stranger.delete(&first.url).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND)
    );
    assert_eq!(app.get(&first.url).await.status(), StatusCode::OK);

    assert_eq!(
        app.delete(&first.url).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.images_stored().await.0, images_before - 1);
    for gone in [first.url.clone(), paths::thumbnail(first.id(), 128)] {
        let (status, error) = error_of(app.get(&gone).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND),
            "{gone}"
        );
    }
    let left: Vec<String> = app
        .gallery()
        .await
        .images
        .into_iter()
        .map(|i| i.image.image_id)
        .collect();
    assert_eq!(left, vec![second.id().to_owned()]);
    let (status, _) = error_of(app.delete(&first.url).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_recipe_link_is_read_without_a_session_and_started_in_a_fresh_cookie_jar() {
    let app = spawn_app().await;
    let (session, first, second) = two_images(&app).await;

    // Default: the newest image.
    let link = app.share(None).await;
    assert_eq!(link.recipe_id.len(), 32);
    assert!(link.recipe_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(link.url, format!("/r/{}", link.recipe_id));
    let older = app.share(Some(json!({"imageId": first.id()}))).await;
    assert_ne!(older.recipe_id, link.recipe_id);

    let partner = Person::new(&app.address);
    let response = partner.get(&paths::recipe(&link.recipe_id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a body");
    assert!(!text.contains(&expected_prompt(&session.idea, &session)));
    let recipe: RecipeView = serde_json::from_str(&text).expect("a recipe");
    assert_eq!(recipe.recipe.idea, session.idea);
    assert_eq!(recipe.recipe.answers, session.answers);
    assert_eq!(recipe.recipe.aspect_ratio, AspectRatio::Portrait9x16);
    let thumbnail = recipe.thumbnail_url.expect("a thumbnail");
    assert_eq!(thumbnail, paths::thumbnail(second.id(), 256));
    let fetched = partner.get(&thumbnail).await;
    assert_eq!(fetched.status(), StatusCode::OK, "no session needed");
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");

    let older: RecipeView = partner
        .get(&paths::recipe(&older.recipe_id))
        .await
        .json()
        .await
        .expect("a recipe");
    assert_eq!(older.recipe.aspect_ratio, AspectRatio::Landscape16x9);
    assert!(!older.recipe.answers[1].skipped);

    // The partner starts from it: the same brief, ready to generate.
    let response = partner
        .post_json(paths::SESSION_START, &json!({"recipeId": link.recipe_id}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let started: SessionView = response.json().await.expect("a session");
    assert_eq!(started.status, SessionStatus::Ready);
    assert_eq!(started.template_id, session.template_id);
    assert_eq!(started.idea, session.idea);
    assert_eq!(started.answers, session.answers);
    assert!(started.images.is_empty() && started.references.is_empty());
    let made = partner.image_made(json!({})).await;
    assert_ne!(made.url, second.url);
    // The owner's session is untouched.
    assert_eq!(app.session().await.images.len(), 2);

    // Deleting the image keeps the recipe, without its picture.
    assert_eq!(
        app.delete(&second.url).await.status(),
        StatusCode::NO_CONTENT
    );
    let after: RecipeView = partner
        .get(&paths::recipe(&link.recipe_id))
        .await
        .json()
        .await
        .expect("a recipe");
    assert_eq!(after.thumbnail_url, None);
    assert_eq!(after.recipe, recipe.recipe);
}

#[tokio::test]
async fn recipe_requests_that_cannot_be_met_are_refused() {
    let app = spawn_app().await;
    app.ready_session("a paper boat").await;
    // No image yet.
    let (status, error) = error_of(app.post_json(paths::RECIPES, &json!({})).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND)
    );
    let mine = app.image_made(json!({})).await;

    // Another session's image cannot be shared by someone else.
    let stranger = app.another_person();
    stranger.ready_session("a kite").await;
    let (status, error) = error_of(
        stranger
            .post_json(paths::RECIPES, &json!({"imageId": mine.id()}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::IMAGE_NOT_FOUND)
    );

    let partner = Person::new(&app.address);
    for unknown in ["0".repeat(32), "nope".to_owned()] {
        let (status, error) = error_of(partner.get(&paths::recipe(&unknown)).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::NOT_FOUND, codes::RECIPE_NOT_FOUND)
        );
        let (status, error) = error_of(
            partner
                .post_json(paths::SESSION_START, &json!({"recipeId": unknown}))
                .await,
        )
        .await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::NOT_FOUND, codes::RECIPE_NOT_FOUND)
        );
    }
    let link = app.share(None).await;
    let (status, error) = error_of(
        partner
            .post_json(
                paths::SESSION_START,
                &json!({"recipeId": link.recipe_id, "templateId": "general-cinematic"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST)
    );
    let (status, _) = error_of(partner.get(paths::SESSION).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no session was started");
}
