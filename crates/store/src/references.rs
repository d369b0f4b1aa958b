//! A session's reference images: the bytes (already checked and stripped of metadata by the
//! server) in the object store under `references/<id>`, previews made on first request under
//! `reference-thumbnails/<id>/<width>`, and a row each with the owning session,
//! a slot (1..=3, unique per session, so no two instances can together store a fourth), the
//! type, pixel size, note and upload time. They go when their session goes (the sweep) or when
//! deleted.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::StoreError;
use crate::changes::Changes;
use crate::db::{Db, on_db_by_key, on_writer};
use crate::ids::{SessionId, now_us, random_id};
use crate::images::{StoredImage, THUMBNAIL_WIDTHS};
use crate::objects;

/// Most references per session (the slots the table allows).
pub const SLOTS: i64 = 3;

/// A reference to keep.
#[derive(Debug, Clone)]
pub struct NewReference {
    pub session: SessionId,
    pub bytes: Bytes,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub note: String,
}

/// A reference as stored, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRow {
    pub id: String,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub note: String,
    /// Size of the stored bytes (what goes to the image model).
    pub byte_size: u64,
}

/// Why [`ReferenceStore::insert`] stored nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// Every slot of the session is taken.
    Full,
    /// The session does not exist (any more).
    SessionGone,
}

/// The reference rows and their bytes.
#[derive(Clone, Debug)]
pub struct ReferenceStore {
    db: Db,
    objects: Arc<dyn ObjectStore>,
    changes: Changes,
}

fn key(id: &str) -> Path {
    Path::from(format!("references/{id}"))
}

/// A kept preview's object key (beside `references/`, not under it: on a folder store
/// `references/<id>` is a file, so it cannot also be a folder).
fn thumbnail_key(id: &str, width: u32) -> Path {
    Path::from(format!("reference-thumbnails/{id}/{width}"))
}

type Columns = (String, String, i64, i64, String, i64);

fn row(columns: Columns) -> Result<ReferenceRow, StoreError> {
    let (id, mime_type, width, height, note, byte_size) = columns;
    let corrupt = |what: &str| StoreError::Corrupt(format!("reference {id}: {what}"));
    Ok(ReferenceRow {
        width: u32::try_from(width).map_err(|_| corrupt("width"))?,
        height: u32::try_from(height).map_err(|_| corrupt("height"))?,
        byte_size: u64::try_from(byte_size).map_err(|_| corrupt("byte size"))?,
        id,
        mime_type,
        note,
    })
}

impl ReferenceStore {
    pub(crate) fn new(db: Db, objects: Arc<dyn ObjectStore>, changes: Changes) -> ReferenceStore {
        ReferenceStore {
            db,
            objects,
            changes,
        }
    }

    /// The session's references, in upload order.
    pub async fn list(&self, session: &SessionId) -> Result<Vec<ReferenceRow>, StoreError> {
        let owner = session.to_hex();
        let rows: Vec<Columns> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as(
                "SELECT id, mime_type, width, height, note, byte_size FROM reference_images \
                 WHERE session_id = $1 ORDER BY created_at, id",
            )
            .bind(&owner)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(row).collect()
    }

    /// Stores a reference in the session's first free slot. The bytes go first (a row never
    /// names missing bytes) and are removed again when no row could be written.
    pub async fn insert(
        &self,
        reference: NewReference,
    ) -> Result<Result<ReferenceRow, NotStored>, StoreError> {
        let session = reference.session.to_hex();
        // Refuse before uploading bytes when the answer is already known.
        if let Some(refused) = self.refusal(&session).await? {
            return Ok(Err(refused));
        }
        let id = random_id();
        let size = i64::try_from(reference.bytes.len()).unwrap_or(i64::MAX);
        self.objects
            .put(&key(&id), PutPayload::from_bytes(reference.bytes.clone()))
            .await?;
        let outcome = match self.insert_row(&id, &session, size, &reference).await {
            Ok(true) => {
                self.changes.session(&reference.session);
                return Ok(Ok(ReferenceRow {
                    id,
                    mime_type: reference.mime_type,
                    width: reference.width,
                    height: reference.height,
                    note: reference.note,
                    byte_size: u64::try_from(size).unwrap_or(u64::MAX),
                }));
            }
            // The last slot went to a concurrent upload, or the session went meanwhile.
            Ok(false) => match self.refusal(&session).await {
                Ok(Some(refused)) => Ok(Err(refused)),
                Ok(None) => Err(StoreError::Busy),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        self.delete_object(&id).await;
        outcome
    }

    /// True when a row was written; false when every slot was taken or the session is gone.
    async fn insert_row(
        &self,
        id: &str,
        session: &str,
        size: i64,
        reference: &NewReference,
    ) -> Result<bool, StoreError> {
        // Three tries: a concurrent upload may take the slot this one picked.
        for _ in 0..3 {
            let (id, owner, mime_type, note) = (
                id.to_owned(),
                session.to_owned(),
                reference.mime_type.clone(),
                reference.note.clone(),
            );
            let (width, height) = (i64::from(reference.width), i64::from(reference.height));
            let inserted = on_writer!(&self.db, pool => {
                crate::sql::query(
                    "INSERT INTO reference_images (id, session_id, slot, mime_type, byte_size, \
                     width, height, note, created_at) \
                     SELECT $1, $2, slots.slot, $3, $4, $5, $6, $7, $8 FROM \
                     (SELECT 1 AS slot UNION ALL SELECT 2 UNION ALL SELECT 3) slots \
                     WHERE slots.slot NOT IN (SELECT slot FROM reference_images WHERE session_id = $2) \
                     AND EXISTS (SELECT 1 FROM sessions WHERE id = $2) \
                     ORDER BY slots.slot LIMIT 1 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&id)
                .bind(&owner)
                .bind(&mime_type)
                .bind(size)
                .bind(width)
                .bind(height)
                .bind(&note)
                .bind(now_us())
                .execute(pool)
                .await?
                .rows_affected()
            });
            if inserted == 1 {
                return Ok(true);
            }
            if self.refusal(session).await?.is_some() {
                return Ok(false);
            }
        }
        Ok(false)
    }

    /// Why an upload to `session` cannot be stored right now, if it cannot.
    async fn refusal(&self, session: &str) -> Result<Option<NotStored>, StoreError> {
        let session = session.to_owned();
        let (exists, count): (Option<i64>, i64) = on_db_by_key!(&self.db, pool => {
            #[allow(unused_mut)]
            let mut conn = pool.acquire().await?;
            let exists = crate::sql::query_scalar("SELECT CAST(1 AS BIGINT) FROM sessions WHERE id = $1")
                .bind(&session)
                .fetch_optional(&mut *conn)
                .await?;
            let count =
                crate::sql::query_scalar("SELECT COUNT(*) FROM reference_images WHERE session_id = $1")
                    .bind(&session)
                    .fetch_one(&mut *conn)
                    .await?;
            (exists, count)
        });
        Ok(if exists.is_none() {
            Some(NotStored::SessionGone)
        } else if count >= SLOTS {
            Some(NotStored::Full)
        } else {
            None
        })
    }

    /// The session's reference `id` with its bytes (another session's is not found).
    pub async fn get(
        &self,
        session: &SessionId,
        id: &str,
    ) -> Result<Option<StoredImage>, StoreError> {
        let Some(mime_type) = self.mime_type(session, id).await? else {
            return Ok(None);
        };
        let bytes = objects::read(&*self.objects, &key(id)).await?;
        Ok(bytes.map(|bytes| StoredImage { bytes, mime_type }))
    }

    /// The media type of the session's reference `id`, if it has one such.
    async fn mime_type(&self, session: &SessionId, id: &str) -> Result<Option<String>, StoreError> {
        let (reference, owner) = (id.to_owned(), session.to_hex());
        Ok(on_db_by_key!(&self.db, pool => {
            crate::sql::query_scalar(
                "SELECT mime_type FROM reference_images WHERE id = $1 AND session_id = $2",
            )
            .bind(&reference)
            .bind(&owner)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// A kept preview of the session's reference `id`, `width` pixels wide, if one was made and
    /// the reference is still there; its original is not read.
    pub async fn thumbnail(
        &self,
        session: &SessionId,
        id: &str,
        width: u32,
    ) -> Result<Option<Bytes>, StoreError> {
        if self.mime_type(session, id).await?.is_none() {
            return Ok(None);
        }
        objects::read(&*self.objects, &thumbnail_key(id, width)).await
    }

    /// Keeps a preview of the session's reference `id`. Should the reference be deleted
    /// meanwhile, the preview is dropped again, so none outlives its reference.
    pub async fn put_thumbnail(
        &self,
        session: &SessionId,
        id: &str,
        width: u32,
        bytes: Bytes,
    ) -> Result<(), StoreError> {
        self.objects
            .put(&thumbnail_key(id, width), PutPayload::from_bytes(bytes))
            .await?;
        if self.mime_type(session, id).await?.is_none() {
            self.delete_object(id).await;
        }
        Ok(())
    }

    /// Deletes the session's reference `id` and its bytes; false when the session has none such.
    pub async fn delete(&self, session: &SessionId, id: &str) -> Result<bool, StoreError> {
        let (reference, owner) = (id.to_owned(), session.to_hex());
        let deleted = on_writer!(&self.db, pool => {
            crate::sql::query("DELETE FROM reference_images WHERE id = $1 AND session_id = $2")
                .bind(&reference)
                .bind(&owner)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted > 0 {
            self.changes.session(session);
            self.delete_object(id).await;
        }
        Ok(deleted > 0)
    }

    /// Drops the references of sessions that no longer exist, with their bytes. Returns how many.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let orphans: Vec<String> = on_writer!(&self.db, pool => {
            crate::sql::query_scalar(
                "DELETE FROM reference_images \
                 WHERE session_id NOT IN (SELECT id FROM sessions) RETURNING id",
            )
            .fetch_all(pool)
            .await?
        });
        for id in &orphans {
            self.delete_object(id).await;
        }
        Ok(orphans.len() as u64)
    }

    /// The reference's bytes and its kept previews.
    async fn delete_object(&self, id: &str) {
        let previews = THUMBNAIL_WIDTHS.map(|w| thumbnail_key(id, w));
        for object in std::iter::once(key(id)).chain(previews) {
            objects::delete(&*self.objects, &object, "a reference's bytes").await;
        }
    }
}
