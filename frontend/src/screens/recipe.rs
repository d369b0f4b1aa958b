//! `/r/{recipeId}`: a recipe link. Shows the brief it names (template, idea, answers, shape) and
//! a thumbnail of the image it made, and "Make it" starts a session from it, ready to generate.

use contracts::{RecipeView, StartSessionRequest, codes};
use leptos::prelude::*;

use crate::actions::Actions;
use crate::api;
use crate::components::RequestError;
use crate::errors::describe;

#[component]
pub fn RecipeScreen(id: String, actions: Actions) -> impl IntoView {
    let recipe_id = id.clone();
    let recipe = LocalResource::new(move || {
        let recipe_id = recipe_id.clone();
        async move { api::recipe(&recipe_id).await }
    });
    let body = move || {
        recipe.get().map(|loaded| match loaded {
            Ok(recipe) => view! { <Recipe recipe id=id.clone() actions/> }.into_any(),
            Err(error) => {
                let message = if error.code() == Some(codes::RECIPE_NOT_FOUND) {
                    "This recipe link does not exist or has expired (recipes are kept as long as images are).".to_owned()
                } else {
                    describe(&error).message
                };
                view! {
                    <div class="alert" role="alert" data-testid="recipe-error">
                        <p>{message}</p>
                    </div>
                    <p>
                        <a class="button primary" href="/">"Start with an idea"</a>
                    </p>
                }
                .into_any()
            }
        })
    };
    view! {
        <section class="card narrow" aria-labelledby="recipe-heading" data-testid="recipe">
            <h2 id="recipe-heading" tabindex="-1">"A shared recipe"</h2>
            <Suspense fallback=|| view! { <p aria-live="polite">"Loading the recipe…"</p> }>
                {body}
            </Suspense>
        </section>
    }
}

/// The loaded recipe and its "Make it" button.
#[component]
fn Recipe(recipe: RecipeView, id: String, actions: Actions) -> impl IntoView {
    let RecipeView {
        recipe,
        thumbnail_url,
        ..
    } = recipe;
    let answers = recipe
        .answers
        .into_iter()
        .map(|a| {
            let note = a.defaulted.then_some(" (the template's default)");
            view! {
                <dt>{a.question}</dt>
                <dd>{a.answer}{note}</dd>
            }
        })
        .collect_view();
    let make_it = move |_| {
        actions.start(StartSessionRequest {
            recipe_id: Some(id.clone()),
            ..StartSessionRequest::default()
        });
    };
    view! {
        {thumbnail_url
            .map(|src| {
                view! {
                    <img
                        class="recipe-thumbnail"
                        src=src
                        alt="The image this recipe made"
                        data-testid="recipe-thumbnail"
                    />
                }
            })}
        <dl class="recipe" data-testid="recipe-brief">
            <dt>"Style"</dt>
            <dd>{recipe.template_name}</dd>
            <dt>"Idea"</dt>
            <dd>{recipe.idea}</dd>
            {answers}
            <dt>"Shape"</dt>
            <dd>{recipe.aspect_ratio.as_str()}</dd>
        </dl>
        <RequestError actions/>
        <p>
            <button
                type="button"
                class="primary"
                data-testid="make-it"
                disabled=move || actions.busy()
                on:click=make_it
            >
                "Make it"
            </button>
        </p>
        <p class="muted">
            "Make it starts your own session with this brief, ready to generate; you can change any answer first."
        </p>
    }
}

/// Any other address.
#[component]
pub fn NotFoundScreen() -> impl IntoView {
    view! {
        <section class="card narrow" aria-labelledby="not-found-heading" data-testid="not-found">
            <h2 id="not-found-heading" tabindex="-1">"Page not found"</h2>
            <p>
                <a href="/">"Go to the start"</a>
            </p>
        </section>
    }
}
