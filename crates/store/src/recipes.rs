//! Recipe links: a copy of an image's recipe (what a person chose, never the prompt) under an
//! unguessable id, readable without a session. Kept as long as images are (`IMAGE_RETENTION_DAYS`,
//! counted from the link's creation); deleting the image leaves the recipe, without its picture.

use std::time::Duration;

use contracts::ImageRecipe;

use crate::StoreError;
use crate::db::{Db, on_db_by_key, on_writer};
use crate::ids::{now_us, random_id};

/// A stored recipe link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeRow {
    pub id: String,
    /// The image it made (which may since have gone).
    pub image_id: String,
    pub recipe: ImageRecipe,
}

/// The recipes table.
#[derive(Clone, Debug)]
pub struct RecipeStore {
    db: Db,
    retention_ms: i64,
}

impl RecipeStore {
    pub(crate) fn new(db: Db, retention: Duration) -> RecipeStore {
        RecipeStore {
            db,
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Stores a recipe of image `image_id`; returns its new id (128 random bits).
    pub async fn insert(&self, image_id: &str, recipe: &ImageRecipe) -> Result<String, StoreError> {
        let id = random_id();
        let text = serde_json::to_string(recipe).map_err(StoreError::corrupt("recipe"))?;
        let (row_id, image_id) = (id.clone(), image_id.to_owned());
        on_writer!(&self.db, pool => {
            crate::sql::query("INSERT INTO recipes (id, image_id, recipe, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&row_id)
                .bind(&image_id)
                .bind(&text)
                .bind(now_us())
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    /// Recipe `id`, unless unknown or past the retention.
    pub async fn get(&self, id: &str) -> Result<Option<RecipeRow>, StoreError> {
        let since_us = crate::ids::now_ms()
            .saturating_sub(self.retention_ms)
            .saturating_mul(1000);
        let recipe = id.to_owned();
        let row: Option<(String, String)> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as("SELECT image_id, recipe FROM recipes WHERE id = $1 AND created_at >= $2")
                .bind(&recipe)
                .bind(since_us)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(image_id, text)| {
            Ok(RecipeRow {
                id: id.to_owned(),
                image_id,
                recipe: serde_json::from_str(&text).map_err(StoreError::corrupt("recipe"))?,
            })
        })
        .transpose()
    }

    /// Drops recipes older than the retention. Returns how many.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        let before_us = now_ms
            .saturating_add(1)
            .saturating_sub(self.retention_ms)
            .saturating_mul(1000);
        Ok(on_writer!(&self.db, pool => {
            crate::sql::query("DELETE FROM recipes WHERE created_at < $1")
                .bind(before_us)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
