//! Recipe links: `POST /api/recipes` keeps a copy of one of this session's images' recipe under
//! an unguessable id; `GET /api/recipes/{recipeId}` shows it to anyone with the link (no
//! session): the choices and a thumbnail, never the prompt or reference bytes. Starting a
//! session from one is `POST /api/session/start` with `{"recipeId"}` (routes::session).

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::openapi::ReferenceOr;
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use contracts::{CreateRecipeRequest, RecipeCreated, RecipeView, codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::describe::Describe;
use crate::error::{ApiError, AppJson, Result};
use crate::extract::CurrentSession;
use crate::routes::images::GALLERY_THUMBNAIL_WIDTH;
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(paths::RECIPES, post_with(create, create_docs))
        .api_route(paths::RECIPE, get_with(show, show_docs))
}

fn create_docs(mut op: TransformOperation<'_>) -> TransformOperation<'_> {
    // The body is optional: without one, the newest image's recipe is shared.
    if let Some(ReferenceOr::Item(body)) = op.inner_mut().request_body.as_mut() {
        body.required = false;
    }
    op.id("createRecipe")
        .summary("Make a recipe link for one of this session's images (default: the newest)")
        .answers_json::<RecipeCreated>(201, "the recipe's id and its page")
        .errors(&[
            (
                404,
                codes::IMAGE_NOT_FOUND,
                "this session has no such image (or none yet, or only images made before recipes were kept)",
            ),
            (
                400,
                codes::INVALID_REQUEST,
                "a body that is not JSON or has a wrong or unknown field",
            ),
            (413, codes::PAYLOAD_TOO_LARGE, "the body is over 16 KiB"),
            (
                415,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "a body not sent as application/json",
            ),
        ])
        .link(201, "getRecipe", &[("recipeId", "$response.body#/recipeId")])
}

async fn create(
    State(state): State<AppState>,
    session: CurrentSession,
    request: Option<AppJson<CreateRecipeRequest>>,
) -> Result<(StatusCode, Json<RecipeCreated>)> {
    let wanted = request.and_then(|AppJson(r)| r.image_id);
    let image = match wanted {
        Some(image_id) => state
            .images
            .record(&image_id)
            .await?
            .filter(|image| image.session == session.id),
        None => state.images.gallery(&session.id).await?.into_iter().next(),
    };
    let (image_id, recipe) = image
        .and_then(|image| Some((image.id, image.recipe?)))
        .ok_or(ApiError::ImageNotFound)?;
    let recipe_id = state.recipes.insert(&image_id, &recipe).await?;
    tracing::info!(event = "recipe_created", session = %session.id.log_label(), "recipe link made");
    Ok((
        StatusCode::CREATED,
        Json(RecipeCreated {
            url: paths::recipe_page(&recipe_id),
            recipe_id,
        }),
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
struct RecipePath {
    #[serde(rename = "recipeId")]
    recipe_id: String,
}

fn show_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getRecipe")
        .summary("A recipe (no session needed): template, idea, answers, ratio and a thumbnail")
        .errors(&[(
            404,
            codes::RECIPE_NOT_FOUND,
            "no such recipe, or it expired with the images",
        )])
}

async fn show(
    State(state): State<AppState>,
    Path(RecipePath { recipe_id }): Path<RecipePath>,
) -> Result<Json<RecipeView>> {
    let row = state
        .recipes
        .get(&recipe_id)
        .await?
        .ok_or(ApiError::RecipeNotFound)?;
    let image_exists = state.images.record(&row.image_id).await?.is_some();
    Ok(Json(RecipeView {
        recipe_id: row.id,
        recipe: row.recipe,
        thumbnail_url: image_exists
            .then(|| paths::thumbnail(&row.image_id, GALLERY_THUMBNAIL_WIDTH)),
    }))
}
