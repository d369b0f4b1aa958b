//! What survives a restart, and what several instances share: sessions, generation jobs, images,
//! reference images, recipe links and the daily quotas, behind one [`Store`] with two backends chosen by configuration.
//!
//! - **Embedded** (the default): a SQLite database in WAL mode and the image files, both under
//!   `DATA_DIR`. One instance.
//! - **Scaled out**: PostgreSQL for the rows (with `LISTEN`/`NOTIFY` to wake long-polls on every
//!   instance) and an S3-compatible bucket for the image bytes. Any number of instances.
//!
//! Both run the same SQL and behave the same; the tests run each case on both. Nothing stored
//! holds an API key. The session rows hold the written prompt (needed for "new take, same
//! prompt"); the server never serves it.

pub mod changes;
mod db;
pub mod ids;
pub mod images;
pub mod jobs;
mod objects;
pub mod quotas;
pub mod recipes;
pub mod references;
pub mod secret;
pub mod sessions;
mod sql;
mod sqlite;
pub mod wakeups;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use changes::Changes;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use secrecy::{ExposeSecret, SecretString};

pub use db::Backend;
pub use ids::SessionId;
use images::ImageStore;
use jobs::JobStore;
use quotas::QuotaStore;
use recipes::RecipeStore;
use references::ReferenceStore;
use sessions::SessionStore;
use wakeups::Wakeups;

/// A failed read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("image store: {0}")]
    Objects(#[from] object_store::Error),
    /// A row that does not decode (written by an incompatible version, or edited by hand).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Concurrent writers kept colliding.
    #[error("the store stayed busy")]
    Busy,
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str) -> impl Fn(serde_json::Error) -> StoreError {
        move |e| StoreError::Corrupt(format!("{what}: {e}"))
    }
}

/// Why the store could not open; each names the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL: {0}")]
    Database(sqlx::Error),
    #[error("IMAGE_STORE_URL: {0}")]
    Images(String),
}

/// Where image bytes live (`IMAGE_STORE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLocation {
    /// `file://<path>` or a bare path: a local folder (made if missing).
    Folder(PathBuf),
    /// `s3://bucket/prefix`: an S3-compatible bucket (which must exist).
    S3 { bucket: String, prefix: String },
    /// `memory://`: this process's memory, for tests and benchmarks.
    Memory,
}

impl ImageLocation {
    /// Parses `IMAGE_STORE_URL`.
    pub fn parse(url: &str) -> Result<ImageLocation, String> {
        if url == "memory://" || url == "memory:" {
            return Ok(ImageLocation::Memory);
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            if !valid_bucket {
                return Err(format!(
                    "{url:?} does not name a bucket: use s3://bucket or s3://bucket/prefix"
                ));
            }
            return Ok(ImageLocation::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "{url:?} must be file://<folder>, a folder path, or s3://bucket/prefix"
            ));
        }
        Ok(ImageLocation::Folder(PathBuf::from(path)))
    }
}

/// Credentials and endpoint for an S3-compatible bucket (the usual `AWS_*` variables). Unset
/// keys fall back to the instance's role (object_store's credential chain).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL`: an S3-compatible server (MinIO, Ceph, ...).
    pub endpoint: Option<String>,
    /// `AWS_ALLOW_HTTP`: allow a plain-http endpoint.
    pub allow_http: bool,
}

/// Everything [`Store::open`] needs.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://...`.
    pub database_url: String,
    pub images: ImageLocation,
    pub s3: S3Options,
    /// Pool size (SQLite: readers; writes take turns).
    pub max_connections: u32,
    pub session_idle: Duration,
    pub max_sessions: u64,
    pub image_cap_bytes: u64,
    pub image_retention: Duration,
    pub quota_per_session: Option<u32>,
    pub quota_per_client: Option<u32>,
    pub quota_global: Option<u32>,
    /// How long a job stays alive without its instance renewing it.
    pub job_lease: Duration,
}

/// The store: one handle per kind of record, all on one database and one object store.
#[derive(Clone, Debug)]
pub struct Store {
    pub sessions: SessionStore,
    pub jobs: JobStore,
    pub images: ImageStore,
    pub references: ReferenceStore,
    pub recipes: RecipeStore,
    pub quotas: QuotaStore,
    pub wakeups: Wakeups,
    /// What this instance wrote when, for the session-view cache (tracked on SQLite only).
    pub changes: Changes,
    db: db::Db,
}

/// What one [`Store::sweep`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub images: u64,
    pub references: u64,
    pub recipes: u64,
    pub quota_days: u64,
}

impl Store {
    /// Connects, runs the migrations, and checks the image store is usable.
    pub async fn open(config: &StoreConfig) -> Result<Store, OpenError> {
        let db = db::Db::open(&config.database_url, config.max_connections)
            .await
            .map_err(OpenError::Database)?;
        let wakeups = match &db {
            db::Db::Postgres(pool) => Wakeups::postgres(pool.clone())
                .await
                .map_err(OpenError::Database)?,
            // One SQLite file serves one instance: every write passes here and can be tracked.
            db::Db::Sqlite(..) => Wakeups::local(Changes::tracked()),
        };
        let changes = wakeups.changes().clone();
        let objects = open_objects(&config.images, &config.s3).await?;
        let instance = ids::random_id()[..12].to_owned();
        Ok(Store {
            sessions: SessionStore::new(
                db.clone(),
                wakeups.clone(),
                config.session_idle,
                config.max_sessions,
            ),
            jobs: JobStore::new(db.clone(), wakeups.clone(), instance, config.job_lease),
            references: ReferenceStore::new(db.clone(), objects.clone(), changes.clone()),
            recipes: RecipeStore::new(db.clone(), config.image_retention),
            images: ImageStore::new(
                db.clone(),
                objects,
                config.image_cap_bytes,
                config.image_retention,
                changes.clone(),
            ),
            quotas: QuotaStore::new(
                db.clone(),
                changes.clone(),
                config.quota_per_session,
                config.quota_per_client,
                config.quota_global,
            ),
            wakeups,
            changes,
            db,
        })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Drops idle and over-cap sessions (and their references), old and over-cap images, old
    /// recipe links, and old quota counters.
    pub async fn sweep(&self) -> Result<Swept, StoreError> {
        let now = ids::now_ms();
        Ok(Swept {
            sessions: self.sessions.sweep(now).await?,
            images: self.images.sweep(now).await?,
            references: self.references.sweep().await?,
            recipes: self.recipes.sweep(now).await?,
            quota_days: self.quotas.sweep(now).await?,
        })
    }

    /// Closes the connections (at shutdown, after the last write).
    pub async fn close(&self) {
        self.wakeups.stop_listening();
        self.db.close().await;
    }
}

async fn open_objects(
    location: &ImageLocation,
    s3: &S3Options,
) -> Result<Arc<dyn ObjectStore>, OpenError> {
    let fail = |e: &dyn std::fmt::Display| OpenError::Images(e.to_string());
    let store: Arc<dyn ObjectStore> = match location {
        ImageLocation::Memory => Arc::new(InMemory::new()),
        ImageLocation::Folder(path) => {
            std::fs::create_dir_all(path)
                .map_err(|e| OpenError::Images(format!("cannot create {}: {e}", path.display())))?;
            Arc::new(LocalFileSystem::new_with_prefix(path).map_err(|e| fail(&e))?)
        }
        ImageLocation::S3 { bucket, prefix } => {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_allow_http(s3.allow_http);
            if let Some(region) = &s3.region {
                builder = builder.with_region(region);
            }
            if let Some(endpoint) = &s3.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(key) = &s3.access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &s3.secret_access_key {
                builder = builder.with_secret_access_key(secret.expose_secret());
            }
            if let Some(token) = &s3.session_token {
                builder = builder.with_token(token.expose_secret());
            }
            let bucket_store = builder.build().map_err(|e| fail(&e))?;
            if prefix.is_empty() {
                Arc::new(bucket_store)
            } else {
                Arc::new(PrefixStore::new(bucket_store, prefix.as_str()))
            }
        }
    };
    // A missing bucket, a wrong endpoint or refused credentials fail here, not at the first image.
    store
        .list_with_delimiter(None)
        .await
        .map_err(|e| OpenError::Images(format!("the image store cannot be read: {e}")))?;
    Ok(store)
}

/// `url` with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_locations_parse() {
        assert_eq!(
            ImageLocation::parse("s3://my-bucket/refinery/images/"),
            Ok(ImageLocation::S3 {
                bucket: "my-bucket".into(),
                prefix: "refinery/images".into()
            })
        );
        assert_eq!(
            ImageLocation::parse("s3://my-bucket"),
            Ok(ImageLocation::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            ImageLocation::parse("file://data/images"),
            Ok(ImageLocation::Folder("data/images".into()))
        );
        assert_eq!(
            ImageLocation::parse("/var/lib/refinery/images"),
            Ok(ImageLocation::Folder("/var/lib/refinery/images".into()))
        );
        assert_eq!(ImageLocation::parse("memory://"), Ok(ImageLocation::Memory));
        for bad in ["s3://", "s3://A_B", "gs://bucket/x", "file://", ""] {
            assert!(ImageLocation::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_stay_out_of_logged_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/refinery"),
            "postgres://app:***@db.internal:5432/refinery"
        );
        assert_eq!(
            redact_url("sqlite://data/refinery.db"),
            "sqlite://data/refinery.db"
        );
    }
}
