//! Where a test server keeps its data. `TEST_BACKEND` picks the backend for the whole run:
//! unset or `embedded` — SQLite and image files in a temporary `DATA_DIR`, as `scripts/start`
//! runs — or `postgres`: a fresh database on a throwaway PostgreSQL and a fresh prefix in a
//! bucket on a throwaway S3-compatible server (moto), both started by `test-servers`.
//! `scripts/test` runs the API suite once with each.

use std::path::Path;

use contracts::{AspectRatio, ImageSize};
use object_store::ObjectStoreExt;
use object_store::aws::AmazonS3Builder;
use server::config::Settings;
use store::SessionId;
use store::images::NewImage;
use tempfile::TempDir;
use test_servers::{Postgres, S3};

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite + image files under `DATA_DIR` (the default).
    Embedded,
    /// PostgreSQL + an S3-compatible bucket (the scaled-out deployment).
    Postgres,
}

impl Backend {
    /// `TEST_BACKEND`: `embedded` (default) or `postgres`.
    pub fn from_env() -> Backend {
        match std::env::var("TEST_BACKEND").as_deref() {
            Err(_) | Ok("" | "embedded" | "sqlite") => Backend::Embedded,
            Ok("postgres") => Backend::Postgres,
            Ok(other) => panic!("TEST_BACKEND={other:?} must be embedded or postgres"),
        }
    }
}

/// One test's data: a temporary `DATA_DIR`, and on PostgreSQL its own database and bucket
/// prefix. Several server instances (or restarts) may share it.
pub struct TestStorage {
    pub backend: Backend,
    data_dir: TempDir,
    database_url: Option<String>,
    image_store_url: Option<String>,
    s3: Option<&'static S3>,
}

impl TestStorage {
    /// Storage on the backend `TEST_BACKEND` names.
    pub async fn new() -> TestStorage {
        TestStorage::on(Backend::from_env()).await
    }

    /// Storage on `backend`, whatever `TEST_BACKEND` says.
    pub async fn on(backend: Backend) -> TestStorage {
        TestStorage::on_in(backend, &std::env::temp_dir()).await
    }

    /// Storage on `backend` whose temporary `DATA_DIR` is made in `parent`.
    pub async fn on_in(backend: Backend, parent: &Path) -> TestStorage {
        let data_dir = tempfile::Builder::new()
            .prefix("refinery-test-data-")
            .tempdir_in(parent)
            .expect("a temporary DATA_DIR");
        match backend {
            Backend::Embedded => TestStorage {
                backend,
                data_dir,
                database_url: None,
                image_store_url: None,
                s3: None,
            },
            Backend::Postgres => {
                let s3 = S3::shared().await;
                TestStorage {
                    backend,
                    data_dir,
                    database_url: Some(Postgres::shared().await.fresh_database().await),
                    image_store_url: Some(s3.fresh_url()),
                    s3: Some(s3),
                }
            }
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Points in-process settings at this storage.
    pub fn apply(&self, settings: &mut Settings) {
        let storage = &mut settings.storage;
        storage.data_dir = self.data_dir.path().to_owned();
        storage.database_url = self.database_url.clone();
        storage.image_store_url = self.image_store_url.clone();
        if let Some(s3) = self.s3 {
            storage.s3 = store::S3Options {
                access_key_id: Some("test".into()),
                secret_access_key: Some("test".to_owned().into()),
                session_token: None,
                region: Some("us-east-1".into()),
                endpoint: Some(s3.endpoint().to_owned()),
                allow_http: true,
            };
        }
    }

    /// Removes one object from the image store by hand, as an operator might; `key` as the
    /// store names it (`<imageId>`, `references/<referenceId>`).
    pub async fn remove_object(&self, key: &str) {
        match (&self.image_store_url, self.s3) {
            (Some(url), Some(s3)) => {
                let (bucket, prefix) = url
                    .strip_prefix("s3://")
                    .and_then(|rest| rest.split_once('/'))
                    .expect("s3://bucket/prefix");
                // Signed as the server signs: moto refuses an anonymous delete.
                let bucket = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_endpoint(s3.endpoint())
                    .with_allow_http(true)
                    .with_region("us-east-1")
                    .with_access_key_id("test")
                    .with_secret_access_key("test")
                    .build()
                    .expect("an S3 client");
                bucket
                    .delete(&object_store::path::Path::from(format!("{prefix}/{key}")))
                    .await
                    .expect("deleted");
            }
            _ => std::fs::remove_file(self.data_dir.path().join("images").join(key))
                .expect("the object's file was there"),
        }
    }

    /// The environment a `refinery` process needs to use this storage.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "DATA_DIR".to_owned(),
            self.data_dir.path().display().to_string(),
        )];
        if let Some(url) = &self.database_url {
            env.push(("DATABASE_URL".into(), url.clone()));
        }
        if let Some(url) = &self.image_store_url {
            env.push(("IMAGE_STORE_URL".into(), url.clone()));
        }
        if let Some(s3) = self.s3 {
            env.extend(s3.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
        }
        env
    }
}

/// An image to put straight into the store, as a large answer from the image model would be
/// stored (a 4K square PNG of another session); a test overrides what it needs.
pub fn image_to_store(bytes: Vec<u8>) -> NewImage {
    NewImage {
        session: SessionId::random(),
        job_id: "stored-by-the-test".into(),
        bytes: bytes.into(),
        mime_type: "image/png".into(),
        width: 4096,
        height: 4096,
        alt: "a large image".into(),
        summary: "a large image".into(),
        aspect_ratio: AspectRatio::Square,
        image_size: ImageSize::FourK,
        offline_preview: false,
        recipe: None,
        thought_signature: None,
    }
}
