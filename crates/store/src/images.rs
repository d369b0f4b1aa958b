//! Generated images: the bytes in the object store (a local folder or an S3-compatible bucket)
//! under their unguessable id, and a row with the owning session and job, type, size, pixel
//! dimensions, alt text, what the gallery shows (summary, ratio, recipe) and time. Thumbnails are
//! made on first request and kept beside the bytes (`thumbnails/<id>/<width>`). Retention is by age (`IMAGE_RETENTION_DAYS`) and by total size
//! (`IMAGE_STORE_MB`, the oldest go first), so an image URL works until then, after a restart and
//! from any instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use contracts::{AspectRatio, ImageRecipe, ImageSize, ImageView};

use crate::StoreError;
use crate::changes::Changes;
use crate::db::{Backend, Db, on_db, on_db_by_key, on_writer};
use crate::ids::{SessionId, now_us, random_id};
use crate::objects;

/// The thumbnail widths served (`?w=`): a few, so stored thumbnails stay bounded.
pub const THUMBNAIL_WIDTHS: [u32; 3] = [128, 256, 512];

/// An image to keep.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub session: SessionId,
    pub job_id: String,
    pub bytes: Bytes,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    pub summary: String,
    pub aspect_ratio: AspectRatio,
    pub image_size: ImageSize,
    pub offline_preview: bool,
    /// How it was made (the gallery and recipe links show it).
    pub recipe: Option<ImageRecipe>,
    /// The model's `thoughtSignature` for it, sent back when it is edited. Never shown.
    pub thought_signature: Option<String>,
}

/// An image's row as the gallery shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: String,
    pub session: SessionId,
    pub view: ImageView,
    /// `None` for images made before recipes were recorded.
    pub recipe: Option<ImageRecipe>,
    /// Size of the stored bytes (what an edit sends back to the image model).
    pub byte_size: u64,
}

const RECORD_COLUMNS: &str = "id, session_id, mime_type, width, height, alt, summary, \
     aspect_ratio, offline_preview, recipe, image_size, byte_size";

type RecordColumns = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    bool,
    Option<String>,
    String,
    i64,
);

fn record(columns: RecordColumns) -> Result<ImageRecord, StoreError> {
    let (id, session, mime_type, width, height, alt, summary, ratio, offline, recipe, size, bytes) =
        columns;
    let corrupt = |what: &str| StoreError::Corrupt(format!("image {id}: {what}"));
    Ok(ImageRecord {
        session: SessionId::from_hex(&session).ok_or_else(|| corrupt("session id"))?,
        view: ImageView {
            image_id: id.clone(),
            url: contracts::paths::image(&id),
            mime_type,
            width: u32::try_from(width).map_err(|_| corrupt("width"))?,
            height: u32::try_from(height).map_err(|_| corrupt("height"))?,
            alt,
            summary,
            aspect_ratio: AspectRatio::parse(&ratio).ok_or_else(|| corrupt("aspect ratio"))?,
            image_size: ImageSize::ALL
                .into_iter()
                .find(|s| s.as_str() == size)
                .ok_or_else(|| corrupt("image size"))?,
            offline_preview: offline,
        },
        recipe: recipe
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(StoreError::corrupt("image recipe"))?,
        byte_size: u64::try_from(bytes).map_err(|_| corrupt("byte size"))?,
        id,
    })
}

/// Image bytes with their media type.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub bytes: Bytes,
    pub mime_type: String,
}

/// An image's bytes as they are read from the store ([`ImageStore::open`]), with its media type
/// and length.
pub struct ImageBody {
    pub mime_type: String,
    pub size: u64,
    pub chunks: objects::Chunks,
}

/// The image rows and their bytes.
#[derive(Clone, Debug)]
pub struct ImageStore {
    db: Db,
    objects: Arc<dyn ObjectStore>,
    cap_bytes: i64,
    retention_ms: i64,
    /// What spares the sum over the whole table after each image stored, on SQLite (where this
    /// instance is the only writer).
    bound: Arc<Bound>,
    /// A deleted image leaves its session's view (which lists its jobs' images).
    changes: Changes,
}

/// An upper bound of the bytes stored: `base + added`. `added` counts every image this
/// instance stored, after its row is written; a sum sets `base` to itself minus `added` as read
/// before the sum began, so an image stored meanwhile is counted (twice at worst). Deletes leave
/// the bound high, which costs only an exact sum.
#[derive(Debug)]
struct Bound {
    /// [`Bound::UNKNOWN`] until the first sum.
    base: AtomicI64,
    added: AtomicI64,
}

impl Bound {
    const UNKNOWN: i64 = i64::MIN;
}

/// An image's object key: its id, at the root of `IMAGE_STORE_URL`.
fn key(id: &str) -> Path {
    Path::from(id)
}

/// A thumbnail's object key.
fn thumbnail_key(id: &str, width: u32) -> Path {
    Path::from(format!("thumbnails/{id}/{width}"))
}

impl ImageStore {
    pub(crate) fn new(
        db: Db,
        objects: Arc<dyn ObjectStore>,
        cap_bytes: u64,
        retention: Duration,
        changes: Changes,
    ) -> ImageStore {
        ImageStore {
            changes,
            db,
            objects,
            cap_bytes: i64::try_from(cap_bytes).unwrap_or(i64::MAX),
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            bound: Arc::new(Bound {
                base: AtomicI64::new(Bound::UNKNOWN),
                added: AtomicI64::new(0),
            }),
        }
    }

    /// Stores an image and returns its new id (32 hex characters). The bytes go first, so a row
    /// never names missing bytes; then the oldest images beyond the size cap are dropped.
    pub async fn insert(&self, image: NewImage) -> Result<String, StoreError> {
        let id = random_id();
        let size = i64::try_from(image.bytes.len()).unwrap_or(i64::MAX);
        let recipe = image
            .recipe
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(StoreError::corrupt("image recipe"))?;
        self.objects
            .put(&key(&id), PutPayload::from_bytes(image.bytes))
            .await?;
        let row_id = id.clone();
        let session = image.session.to_hex();
        let recorded = on_writer!(&self.db, pool => {
            crate::sql::query(
                "INSERT INTO images (id, session_id, job_id, mime_type, byte_size, width, height, \
                 alt, created_at, summary, aspect_ratio, offline_preview, recipe, image_size, \
                 thought_signature) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&row_id)
            .bind(&session)
            .bind(&image.job_id)
            .bind(&image.mime_type)
            .bind(size)
            .bind(i64::from(image.width))
            .bind(i64::from(image.height))
            .bind(&image.alt)
            .bind(now_us())
            .bind(&image.summary)
            .bind(image.aspect_ratio.as_str())
            .bind(image.offline_preview)
            .bind(&recipe)
            .bind(image.image_size.as_str())
            .bind(&image.thought_signature)
            .execute(pool)
            .await
            .map(|_| ())
        });
        if let Err(e) = recorded {
            self.delete_objects(std::slice::from_ref(&id)).await;
            return Err(e.into());
        }
        let added = self
            .bound
            .added
            .fetch_add(size, Ordering::AcqRel)
            .saturating_add(size);
        let base = self.bound.base.load(Ordering::Acquire);
        let under_cap = self.db.backend() == Backend::Sqlite
            && base != Bound::UNKNOWN
            && base.saturating_add(added) <= self.cap_bytes;
        if !under_cap {
            self.enforce_cap().await?;
        }
        Ok(id)
    }

    /// The image's bytes, or `None` if unknown or dropped.
    pub async fn get(&self, id: &str) -> Result<Option<StoredImage>, StoreError> {
        let Some(mime_type) = self.mime_type(id).await? else {
            return Ok(None);
        };
        let bytes = objects::read(&*self.objects, &key(id)).await?;
        Ok(bytes.map(|bytes| StoredImage { bytes, mime_type }))
    }

    /// The image's bytes as they are read, to send on without holding them whole; `None` if
    /// unknown or dropped.
    pub async fn open(&self, id: &str) -> Result<Option<ImageBody>, StoreError> {
        let Some(mime_type) = self.mime_type(id).await? else {
            return Ok(None);
        };
        let Some((size, chunks)) = objects::open(&*self.objects, &key(id)).await? else {
            return Ok(None);
        };
        Ok(Some(ImageBody {
            mime_type,
            size,
            chunks,
        }))
    }

    /// Image `id`'s media type, or `None` if there is no such image.
    async fn mime_type(&self, id: &str) -> Result<Option<String>, StoreError> {
        let image = id.to_owned();
        Ok(on_db_by_key!(&self.db, pool => {
            crate::sql::query_scalar("SELECT mime_type FROM images WHERE id = $1")
                .bind(&image)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The session's images that carry a recipe, newest first.
    pub async fn gallery(&self, session: &SessionId) -> Result<Vec<ImageRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM images WHERE session_id = $1 AND recipe IS NOT NULL \
             ORDER BY created_at DESC, id DESC"
        );
        let owner = session.to_hex();
        let rows: Vec<RecordColumns> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as(&sql).bind(&owner).fetch_all(pool).await?
        });
        rows.into_iter().map(record).collect()
    }

    /// The thought signature stored with image `id` (an edit sends it back), if any.
    pub async fn thought_signature(&self, id: &str) -> Result<Option<String>, StoreError> {
        let image = id.to_owned();
        let signature: Option<Option<String>> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_scalar("SELECT thought_signature FROM images WHERE id = $1")
                .bind(&image)
                .fetch_optional(pool)
                .await?
        });
        Ok(signature.flatten())
    }

    /// Image `id`, whoever owns it.
    pub async fn record(&self, id: &str) -> Result<Option<ImageRecord>, StoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM images WHERE id = $1");
        let image = id.to_owned();
        let row: Option<RecordColumns> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as(&sql).bind(&image).fetch_optional(pool).await?
        });
        row.map(record).transpose()
    }

    /// Deletes the session's image `id` with its bytes and thumbnails; false when the session
    /// has no such image (another session's image is not touched).
    pub async fn delete(&self, session: &SessionId, id: &str) -> Result<bool, StoreError> {
        let (image, owner) = (id.to_owned(), session.to_hex());
        let deleted = on_writer!(&self.db, pool => {
            crate::sql::query("DELETE FROM images WHERE id = $1 AND session_id = $2")
                .bind(&image)
                .bind(&owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Ok(false);
        }
        self.changes.session(session);
        self.delete_objects(std::slice::from_ref(&id.to_owned()))
            .await;
        Ok(true)
    }

    /// A stored thumbnail of image `id`, if one was made and the image is still there. Its
    /// original is not read: a grid of thumbnails costs small reads, not one full image each.
    pub async fn thumbnail(&self, id: &str, width: u32) -> Result<Option<Bytes>, StoreError> {
        if self.mime_type(id).await?.is_none() {
            return Ok(None);
        }
        objects::read(&*self.objects, &thumbnail_key(id, width)).await
    }

    /// Keeps a thumbnail of image `id`. Should the image be deleted meanwhile, the thumbnail
    /// is dropped again, so none outlives its image.
    pub async fn put_thumbnail(
        &self,
        id: &str,
        width: u32,
        bytes: Bytes,
    ) -> Result<(), StoreError> {
        self.objects
            .put(&thumbnail_key(id, width), PutPayload::from_bytes(bytes))
            .await?;
        if self.mime_type(id).await?.is_none() {
            self.delete_objects(std::slice::from_ref(&id.to_owned()))
                .await;
        }
        Ok(())
    }

    /// (images, bytes) stored.
    pub async fn usage(&self) -> Result<(u64, u64), StoreError> {
        let (count, bytes): (i64, i64) = on_db!(&self.db, pool => {
            crate::sql::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM images",
            )
            .fetch_one(pool)
            .await?
        });
        Ok((
            u64::try_from(count).unwrap_or(0),
            u64::try_from(bytes).unwrap_or(0),
        ))
    }

    /// Drops images older than the retention, then the oldest beyond the size cap. Returns how
    /// many were dropped.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        // `created_at` is in microseconds and `now_ms` in milliseconds: the cutoff is the end of
        // that millisecond, so an image made earlier within it is not counted as newer.
        let before_us = now_ms
            .saturating_add(1)
            .saturating_sub(self.retention_ms)
            .saturating_mul(1000);
        let old: Vec<(String, String)> = on_writer!(&self.db, pool => {
            crate::sql::query_as("DELETE FROM images WHERE created_at < $1 RETURNING id, session_id")
                .bind(before_us)
                .fetch_all(pool)
                .await?
        });
        let old = self.forget(old);
        self.delete_objects(&old).await;
        Ok(old.len() as u64 + self.enforce_cap().await?)
    }

    /// Marks the sessions of images (id, session) being dropped; returns the ids.
    fn forget(&self, dropped: Vec<(String, String)>) -> Vec<String> {
        dropped
            .into_iter()
            .map(|(id, session)| {
                if let Some(session) = SessionId::from_hex(&session) {
                    self.changes.session(&session);
                }
                id
            })
            .collect()
    }

    /// Drops the oldest images while the total is over the cap, always keeping the newest.
    async fn enforce_cap(&self) -> Result<u64, StoreError> {
        // This runs after every image stored. The ranking below sorts the whole table; the sum
        // does not, and under the cap (nearly always) it is the whole answer.
        let added = self.bound.added.load(Ordering::Acquire);
        let total: i64 = on_db!(&self.db, pool => {
            crate::sql::query_scalar("SELECT CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM images")
                .fetch_one(pool)
                .await?
        });
        self.bound
            .base
            .store(total.saturating_sub(added), Ordering::Release);
        if total <= self.cap_bytes {
            return Ok(0);
        }
        let cap_bytes = self.cap_bytes;
        let over: Vec<(String, String)> = on_db!(&self.db, pool => {
            crate::sql::query_as(
                "SELECT id, session_id FROM (SELECT id, session_id, \
                 SUM(byte_size) OVER (ORDER BY created_at DESC, id DESC ROWS UNBOUNDED PRECEDING) AS kept, \
                 ROW_NUMBER() OVER (ORDER BY created_at DESC, id DESC) AS position \
                 FROM images) ranked WHERE kept > $1 AND position > 1",
            )
            .bind(cap_bytes)
            .fetch_all(pool)
            .await?
        });
        for (id, _) in &over {
            let id = id.clone();
            on_writer!(&self.db, pool => {
                crate::sql::query("DELETE FROM images WHERE id = $1")
                    .bind(&id)
                    .execute(pool)
                    .await?;
            });
        }
        // Marked once deleted: a view read in between would otherwise be kept as current.
        let over = self.forget(over);
        self.delete_objects(&over).await;
        Ok(over.len() as u64)
    }

    /// Best effort: a leftover object without a row is never served, only wasted space.
    async fn delete_objects(&self, ids: &[String]) {
        for id in ids {
            let thumbnails = THUMBNAIL_WIDTHS.map(|w| thumbnail_key(id, w));
            for object in std::iter::once(key(id)).chain(thumbnails) {
                objects::delete(&*self.objects, &object, "an image's bytes").await;
            }
        }
    }
}
