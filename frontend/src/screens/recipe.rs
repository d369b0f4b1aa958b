//! `/r/{recipeId}`: a recipe link. The gallery's issue fills this page (the brief and image a
//! link names); until then it says so and leads back into the app.

use leptos::prelude::*;

#[component]
pub fn RecipeScreen(id: String) -> impl IntoView {
    view! {
        <section class="card narrow" aria-labelledby="recipe-heading" data-testid="recipe">
            <h2 id="recipe-heading" tabindex="-1">"Recipe links are coming"</h2>
            <p>
                "This address names a recipe ("
                <code>{id}</code>
                "). Opening shared recipes arrives with the gallery; for now, start your own image."
            </p>
            <p>
                <a class="button primary" href="/">"Start with an idea"</a>
            </p>
        </section>
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
