//! Generation jobs: one row each with its status (which is also its stage), its result, the
//! instance running it and that instance's lease. At most one unfinished job per session (a
//! partial unique index), whichever instance asks. A job whose lease runs out — its instance
//! died — is ended `failed` by whichever instance notices first, and its quota units come back.
//! A job makes 1 to 4 images (variations) and counts how many are done while it renders.

use std::collections::HashSet;
use std::time::Duration;

use contracts::{
    ApiErrorBody, AspectRatio, FailedImages, ImageSize, ImageView, JobProgress, JobStatus, JobView,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::db::{Db, on_db_by_key, on_writer};
use crate::ids::{SessionId, now_ms, now_us};
use crate::quotas::{COUNT, REFUND};
use crate::wakeups::Wakeups;

/// Finished jobs kept per session (the running one is always kept).
pub const JOBS_KEPT: i64 = 20;

/// Drops session `$1`'s oldest finished jobs beyond the newest `$2`.
const PRUNE: &str = "DELETE FROM jobs WHERE session_id = $1 AND status IN ('succeeded', 'failed') \
     AND id NOT IN (SELECT id FROM jobs WHERE session_id = $1 ORDER BY created_at DESC LIMIT $2)";

/// SQL for "not finished".
pub(crate) const RUNNING: &str = "status IN ('queued', 'synthesizing', 'rendering', 'storing')";

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub session: SessionId,
    pub status: JobStatus,
    pub aspect_ratio: AspectRatio,
    pub image_size: ImageSize,
    pub reuse_prompt: bool,
    /// Images asked for (1 to 4); also the quota units counted, when `quota_day` is set.
    pub image_count: u8,
    /// Images finished (made or failed) so far.
    pub images_done: u8,
    /// Every image made, in order, once succeeded.
    pub images: Vec<ImageView>,
    /// The images that did not come out of a succeeded job.
    pub failed_images: Option<FailedImages>,
    pub error: Option<ApiErrorBody>,
    /// The instance running (or that ran) it.
    pub instance: String,
    /// Epoch ms until which that instance vouches for it.
    pub lease_until: i64,
    /// The UTC day its quota units were counted on, if they were.
    pub quota_day: Option<i64>,
    /// The client address (limit key) those units were counted for.
    pub quota_client: Option<String>,
}

impl JobRow {
    /// What a client sees.
    pub fn view(&self) -> JobView {
        JobView {
            job_id: self.id.clone(),
            status: self.status,
            image: self.images.first().cloned(),
            images: self.images.clone(),
            failed_images: self.failed_images.clone(),
            progress: (self.status == JobStatus::Rendering).then_some(JobProgress {
                done: self.images_done.min(self.image_count),
                total: self.image_count,
            }),
            error: self.error.clone(),
        }
    }

    /// True when it is unfinished and its instance stopped renewing it.
    pub fn lease_lapsed(&self, now_ms: i64) -> bool {
        !self.status.is_terminal() && self.lease_until < now_ms
    }
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub session: SessionId,
    pub aspect_ratio: AspectRatio,
    pub image_size: ImageSize,
    pub reuse_prompt: bool,
    /// 1 to 4.
    pub image_count: u8,
    pub quota_day: Option<i64>,
    pub quota_client: Option<String>,
    /// The insert also counts the job's `image_count` units on the quota counters of
    /// `quota_day` (the session's and `quota_client`'s): units [`crate::quotas::Taken`] with no
    /// limit, not written before.
    pub count_quota: bool,
}

/// What [`JobStore::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    New(JobRow),
    /// The session already had an unfinished job; this is it.
    Existing(JobRow),
    /// The session does not exist (any more).
    SessionGone,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// At least one image came out; `failed` says how many did not.
    Succeeded {
        images: Vec<ImageView>,
        failed: Option<FailedImages>,
    },
    Failed(ApiErrorBody),
}

/// The newest job of a session and the images it made, for the session view.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    pub job: Option<JobRow>,
    /// Newest job first, each job's images in order; at most [`VIEW_IMAGES`].
    pub images: Vec<ImageView>,
}

/// Images a session view lists at most; a session rarely makes more in a day's work, and the
/// view stays small.
pub const VIEW_IMAGES: i64 = 100;

/// An unfinished job that was ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub id: String,
    pub session: SessionId,
    /// True when its quota units were given back.
    pub refunded: bool,
}

/// The jobs table, as seen by one instance.
#[derive(Clone, Debug)]
pub struct JobStore {
    db: Db,
    wakeups: Wakeups,
    instance: String,
    lease: Duration,
}

const COLUMNS: &str = "id, session_id, status, aspect_ratio, reuse_prompt, image, error, \
     instance, lease_until, quota_day, image_count, image_size, images_done, images, failed_images, \
     quota_client";

/// The columns above, in order.
type Columns = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
    i64,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// An enum as its serde name (`"rendering"`, `"16:9"`): the text the rows hold.
fn enum_text<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value).map_err(StoreError::corrupt("job"))? {
        serde_json::Value::String(text) => Ok(text),
        other => Err(StoreError::Corrupt(format!("job: {other} is not a name"))),
    }
}

fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(StoreError::corrupt("job"))
}

fn json<T: Serialize>(value: Option<&T>) -> Result<Option<String>, StoreError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(StoreError::corrupt("job"))
}

fn from_json<T: DeserializeOwned>(text: Option<String>) -> Result<Option<T>, StoreError> {
    text.as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(StoreError::corrupt("job"))
}

/// A stored count as the 0..=255 a job can hold (the server asks for at most 4).
fn small(n: i64) -> u8 {
    u8::try_from(n.max(0)).unwrap_or(u8::MAX)
}

fn row(columns: Columns) -> Result<JobRow, StoreError> {
    let (
        id,
        session,
        status,
        aspect_ratio,
        reuse_prompt,
        image,
        error,
        instance,
        lease,
        day,
        count,
        image_size,
        done,
        images,
        failed,
        client,
    ) = columns;
    // Rows from before variations hold their one image in `image` only.
    let images = match from_json::<Vec<ImageView>>(images)? {
        Some(images) => images,
        None => from_json::<ImageView>(image)?.into_iter().collect(),
    };
    Ok(JobRow {
        session: SessionId::from_hex(&session)
            .ok_or_else(|| StoreError::Corrupt(format!("job {id}: session id")))?,
        status: from_text(&status)?,
        aspect_ratio: from_text(&aspect_ratio)?,
        image_size: from_text(&image_size)?,
        reuse_prompt,
        image_count: small(count),
        images_done: small(done),
        images,
        failed_images: from_json(failed)?,
        error: from_json(error)?,
        instance,
        lease_until: lease,
        quota_day: day,
        quota_client: client,
        id,
    })
}

impl JobStore {
    pub(crate) fn new(db: Db, wakeups: Wakeups, instance: String, lease: Duration) -> JobStore {
        JobStore {
            db,
            wakeups,
            instance,
            lease,
        }
    }

    /// This instance's name in the `instance` column.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// How long a lease lasts; [`JobStore::renew`] should run well within it.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn lease_until(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX))
    }

    /// The session's unfinished job, if any.
    pub async fn running(&self, session: &SessionId) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE session_id = $1 AND {RUNNING}");
        let owner = session.to_hex();
        let found: Option<Columns> = on_db_by_key!(&self.db, pool => {
            crate::sql::query_as(&sql).bind(&owner).fetch_optional(pool).await?
        });
        found.map(row).transpose()
    }

    /// Queues a job run by this instance, unless the session already has an unfinished one.
    /// Drops the session's oldest finished jobs beyond [`JOBS_KEPT`].
    pub async fn insert(&self, job: NewJob) -> Result<Inserted, StoreError> {
        let session = job.session.to_hex();
        let aspect_ratio = enum_text(&job.aspect_ratio)?;
        let image_size = enum_text(&job.image_size)?;
        // Three tries: the unfinished job that blocked the insert may finish before it is read.
        for _ in 0..3 {
            let now = now_ms();
            let lease_until = self.lease_until(now);
            let (id, owner, aspect_ratio, image_size, instance, client) = (
                job.id.clone(),
                session.clone(),
                aspect_ratio.clone(),
                image_size.clone(),
                self.instance.clone(),
                job.quota_client.clone(),
            );
            // The insert, the prune and the count in one write: one turn of the writer each job.
            let count = match (job.count_quota, job.quota_day, &client) {
                (true, Some(day), Some(client)) => Some((
                    day,
                    crate::quotas::client_subject(client),
                    crate::quotas::session_subject(&owner),
                )),
                _ => None,
            };
            let counts = count.is_some();
            let inserted = on_writer!(&self.db, pool => {
                #[allow(unused_mut)]
                let mut conn = pool.acquire().await?;
                let inserted = crate::sql::query(
                    "INSERT INTO jobs (id, session_id, status, aspect_ratio, reuse_prompt, image, \
                     error, instance, lease_until, quota_day, quota_client, created_at, \
                     updated_at, image_count, image_size) \
                     SELECT $1, $2, 'queued', $3, $4, NULL, NULL, $5, $6, $7, $8, $9, $10, $11, $12 \
                     WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&id)
                .bind(&owner)
                .bind(&aspect_ratio)
                .bind(job.reuse_prompt)
                .bind(&instance)
                .bind(lease_until)
                .bind(job.quota_day)
                .bind(client.as_deref())
                .bind(now_us())
                .bind(now)
                .bind(i64::from(job.image_count))
                .bind(&image_size)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if inserted == 1 {
                    crate::sql::query(PRUNE)
                        .bind(&owner)
                        .bind(JOBS_KEPT)
                        .execute(&mut *conn)
                        .await?;
                    if let Some((day, client, session)) = &count {
                        crate::sql::query(COUNT)
                            .bind(*day)
                            .bind(client)
                            .bind(session)
                            .bind(i64::from(job.image_count))
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                inserted
            });
            if inserted == 1 {
                self.wakeups.changes().session(&job.session);
                if counts {
                    self.wakeups.changes().quotas();
                }
                return Ok(Inserted::New(JobRow {
                    id: job.id,
                    session: job.session,
                    status: JobStatus::Queued,
                    aspect_ratio: job.aspect_ratio,
                    image_size: job.image_size,
                    reuse_prompt: job.reuse_prompt,
                    image_count: job.image_count,
                    images_done: 0,
                    images: Vec::new(),
                    failed_images: None,
                    error: None,
                    instance: self.instance.clone(),
                    lease_until,
                    quota_day: job.quota_day,
                    quota_client: job.quota_client,
                }));
            }
            if let Some(existing) = self.running(&job.session).await? {
                return Ok(Inserted::Existing(existing));
            }
            let owner = session.clone();
            let exists: Option<i64> = on_db_by_key!(&self.db, pool => {
                crate::sql::query_scalar("SELECT CAST(1 AS BIGINT) FROM sessions WHERE id = $1")
                    .bind(&owner)
                    .fetch_optional(pool)
                    .await?
            });
            if exists.is_none() {
                return Ok(Inserted::SessionGone);
            }
        }
        Err(StoreError::Busy)
    }

    /// The session's job `id` (another session's job is not found).
    pub async fn get(&self, session: &SessionId, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND session_id = $2");
        let (job, owner) = (id.to_owned(), session.to_hex());
        let (found, stored): (Option<Columns>, Option<Vec<String>>) = on_db_by_key!(&self.db, pool => {
            #[allow(unused_mut)]
            let mut conn = pool.acquire().await?;
            let found: Option<Columns> = crate::sql::query_as(&sql)
                .bind(&job)
                .bind(&owner)
                .fetch_optional(&mut *conn)
                .await?;
            // A job that made images (its `image` or `images` column): which are still stored,
            // read in the same turn.
            let stored = match &found {
                Some(columns) if columns.5.is_some() || columns.13.is_some() => Some(
                    crate::sql::query_scalar("SELECT id FROM images WHERE session_id = $1")
                        .bind(&owner)
                        .fetch_all(&mut *conn)
                        .await?,
                ),
                _ => None,
            };
            (found, stored)
        });
        let Some(mut job) = found.map(row).transpose()? else {
            return Ok(None);
        };
        // As in `latest`: the images deleted since (by the person or a sweep) are not listed.
        if let Some(stored) = stored {
            job.images.retain(|image| stored.contains(&image.image_id));
        }
        Ok(Some(job))
    }

    /// The session's newest job and its images, newest first.
    pub async fn latest(&self, session: &SessionId) -> Result<Latest, StoreError> {
        let key = session.to_hex();
        let newest = format!(
            "SELECT {COLUMNS} FROM jobs WHERE session_id = $1 ORDER BY created_at DESC LIMIT 1"
        );
        type Made = (Option<String>, Option<String>);
        let (job, made): (Option<Columns>, (Vec<Made>, Vec<String>)) = on_db_by_key!(&self.db, pool => {
            // The reads on one connection: a pool tests a connection each time it goes back,
            // a round trip each, and this is on every session view.
            #[allow(unused_mut)]
            let mut conn = pool.acquire().await?;
            let job = crate::sql::query_as(&newest).bind(&key).fetch_optional(&mut *conn).await?;
            let images = crate::sql::query_as(
                "SELECT images, image FROM jobs WHERE session_id = $1 AND image IS NOT NULL \
                 ORDER BY created_at DESC LIMIT $2",
            )
            .bind(&key)
            .bind(VIEW_IMAGES)
            .fetch_all(&mut *conn)
            .await?;
            let stored: Vec<String> = crate::sql::query_scalar("SELECT id FROM images WHERE session_id = $1")
                .bind(&key)
                .fetch_all(&mut *conn)
                .await?;
            (job, (images, stored))
        });
        let (made, stored) = made;
        // A job's row keeps the images it made; those deleted since (by the person, or by the
        // retention and size sweeps) are not shown, as the SPA drops them at once itself.
        let stored: HashSet<String> = stored.into_iter().collect();
        let mut images = Vec::new();
        for (all, first) in made {
            match from_json::<Vec<ImageView>>(all)? {
                Some(all) => images.extend(all),
                None => images.extend(from_json::<ImageView>(first)?),
            }
        }
        images.retain(|image| stored.contains(&image.image_id));
        images.truncate(usize::try_from(VIEW_IMAGES).unwrap_or(usize::MAX));
        let mut job = job.map(row).transpose()?;
        if let Some(job) = &mut job {
            job.images.retain(|image| stored.contains(&image.image_id));
        }
        Ok(Latest { job, images })
    }

    /// Moves an unfinished job this instance runs to `status`. False if it is no longer
    /// unfinished and ours (gone, ended elsewhere after a lapsed lease).
    pub async fn advance(&self, id: &str, status: JobStatus) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET status = $1, updated_at = $2 WHERE id = $3 AND instance = $4 AND {RUNNING}"
        );
        let status = enum_text(&status)?;
        let (job, instance) = (id.to_owned(), self.instance.clone());
        let updated = on_writer!(&self.db, pool => {
            crate::sql::query(&sql)
                .bind(&status)
                .bind(now_ms())
                .bind(&job)
                .bind(&instance)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.wakeups.publish_changed(id).await;
        Ok(updated == 1)
    }

    /// Counts one more image of a rendering job this instance runs as finished (made or failed),
    /// for `progress`. False if the job is no longer unfinished and ours.
    pub async fn image_done(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET images_done = images_done + 1, updated_at = $1 \
             WHERE id = $2 AND instance = $3 AND {RUNNING}"
        );
        let (job, instance) = (id.to_owned(), self.instance.clone());
        let updated = on_writer!(&self.db, pool => {
            crate::sql::query(&sql)
                .bind(now_ms())
                .bind(&job)
                .bind(&instance)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.wakeups.publish_changed(id).await;
        Ok(updated == 1)
    }

    /// Ends an unfinished job this instance runs. False if it was not unfinished and ours.
    pub async fn finish(&self, id: &str, outcome: &Outcome) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET status = $1, image = $2, error = $3, updated_at = $4, \
             images = $7, failed_images = $8 WHERE id = $5 AND instance = $6 AND {RUNNING}"
        );
        let (status, image, error, images, failed) = match outcome {
            Outcome::Succeeded { images, failed } => (
                JobStatus::Succeeded,
                json(images.first())?,
                None,
                json(Some(images))?,
                json(failed.as_ref())?,
            ),
            Outcome::Failed(error) => (JobStatus::Failed, None, json(Some(error))?, None, None),
        };
        let status = enum_text(&status)?;
        let (job, instance) = (id.to_owned(), self.instance.clone());
        let updated = on_writer!(&self.db, pool => {
            crate::sql::query(&sql)
                .bind(&status)
                .bind(image)
                .bind(error)
                .bind(now_ms())
                .bind(&job)
                .bind(&instance)
                .bind(images)
                .bind(failed)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.wakeups.publish_ended(id).await;
        Ok(updated == 1)
    }

    /// Extends the lease of every unfinished job this instance runs; returns their ids (a job
    /// missing from the answer was deleted or ended elsewhere, and its task should stop).
    pub async fn renew(&self) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET lease_until = $1 WHERE instance = $2 AND {RUNNING} RETURNING id"
        );
        let until = self.lease_until(now_ms());
        let instance = self.instance.clone();
        Ok(on_writer!(&self.db, pool => {
            crate::sql::query_scalar(&sql)
                .bind(until)
                .bind(&instance)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Ends one unfinished job with `error` and gives its quota units back (this instance gave up
    /// on it: shutdown, or its task died).
    pub async fn interrupt(
        &self,
        id: &str,
        error: &ApiErrorBody,
    ) -> Result<Option<Interrupted>, StoreError> {
        let ended = self
            .interrupt_where(&format!("id = $3 AND {RUNNING}"), error, Some(id), now_ms())
            .await?;
        Ok(ended.into_iter().next())
    }

    /// Ends every unfinished job whose lease ran out before `now_ms` (its instance died).
    pub async fn expire_lapsed(
        &self,
        error: &ApiErrorBody,
        now_ms: i64,
    ) -> Result<Vec<Interrupted>, StoreError> {
        self.interrupt_where(
            &format!("lease_until < $2 AND {RUNNING}"),
            error,
            None,
            now_ms,
        )
        .await
    }

    /// Ends every unfinished job of other instances. Only for SQLite, where the database file
    /// serves one instance, so at start any job still marked running belongs to a dead process.
    pub async fn interrupt_orphans(
        &self,
        error: &ApiErrorBody,
    ) -> Result<Vec<Interrupted>, StoreError> {
        self.interrupt_where(
            &format!("instance <> $3 AND {RUNNING}"),
            error,
            Some(&self.instance),
            now_ms(),
        )
        .await
    }

    /// `UPDATE ... SET failed WHERE <condition>` with `$1` = the error JSON, `$2` = now and `$3`
    /// = `extra`, refunding each ended job's quota units (one per image) in the same transaction.
    async fn interrupt_where(
        &self,
        condition: &str,
        error: &ApiErrorBody,
        extra: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Interrupted>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET status = 'failed', image = NULL, images = NULL, \
             failed_images = NULL, error = $1, updated_at = $2 \
             WHERE {condition} RETURNING id, session_id, quota_day, image_count, quota_client"
        );
        let error = json(Some(error))?;
        type Ended = (String, String, Option<i64>, i64, Option<String>);
        let extra = extra.map(str::to_owned);
        let ended: Vec<Ended> = on_writer!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let mut query = crate::sql::query_as(&sql).bind(&error).bind(now_ms);
            if let Some(extra) = &extra {
                query = query.bind(extra);
            }
            let ended: Vec<Ended> = query.fetch_all(&mut *tx).await?;
            for (_, session, day, units, client) in &ended {
                if let Some(day) = day {
                    crate::sql::query(REFUND)
                        .bind(day)
                        .bind(crate::quotas::session_subject(session))
                        .bind(client.as_deref().map(crate::quotas::client_subject))
                        .bind(*units)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            ended
        });
        if ended.iter().any(|(_, _, day, _, _)| day.is_some()) {
            self.wakeups.changes().quotas();
        }
        let mut interrupted = Vec::with_capacity(ended.len());
        for (id, session, day, _, _) in ended {
            self.wakeups.publish_ended(&id).await;
            if let Some(session) = SessionId::from_hex(&session) {
                interrupted.push(Interrupted {
                    id,
                    session,
                    refunded: day.is_some(),
                });
            }
        }
        Ok(interrupted)
    }
}
