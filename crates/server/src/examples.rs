//! The templates' example pictures for the start screen: each drawn once, on first request, by
//! the offline renderer from the template's own defaults (its name as the idea, the three default
//! answers, its default ratio), scaled down, and kept in memory for the life of the process. No
//! picture is committed: a template file is all it takes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use domain::{Answer, Catalog, Template};
use providers::faults::FaultScript;
use providers::local::LocalPreview;
use providers::{ImageGenerator, ImageRequest, ProviderError};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::imaging;

/// Long edge of an example, in pixels: twice a card's width on a phone, for sharp screens.
pub const EXAMPLE_LONG_EDGE: u32 = 480;

/// One drawn example.
#[derive(Debug, Clone)]
pub struct Example {
    pub bytes: Bytes,
    /// `image/jpeg` (scaled down), or the renderer's own type when the drawing was already small.
    pub mime_type: String,
    /// A strong validator: the bytes' hash.
    pub etag: String,
}

/// The examples of one catalog, drawn lazily, each at most once.
#[derive(Debug)]
pub struct TemplateExamples {
    renderer: LocalPreview,
    /// Template id → its version (for URLs) and its picture once drawn.
    slots: HashMap<String, (String, OnceCell<Example>)>,
    renders: AtomicU64,
}

impl TemplateExamples {
    pub fn new(catalog: &Catalog) -> TemplateExamples {
        TemplateExamples {
            renderer: LocalPreview::new(Duration::ZERO, FaultScript::default()),
            slots: catalog
                .iter()
                .map(|t| (t.id.clone(), (version(t), OnceCell::new())))
                .collect(),
            renders: AtomicU64::new(0),
        }
    }

    /// A short fingerprint of what the example is drawn from: it goes into the picture's URL,
    /// so a changed template file is a new URL and browsers may cache each URL for long.
    pub fn version_of(&self, template_id: &str) -> Option<&str> {
        self.slots.get(template_id).map(|(v, _)| v.as_str())
    }

    /// The example of `template`, drawn now if it is the first request (concurrent first
    /// requests wait for one drawing). `None` for a template not in the catalog.
    pub async fn get(&self, template: &Template) -> Option<Result<Example, ProviderError>> {
        let (_, cell) = self.slots.get(&template.id)?;
        Some(
            cell.get_or_try_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                self.draw(template).await
            })
            .await
            .cloned(),
        )
    }

    /// How many pictures were drawn since start (each template at most once while drawing
    /// succeeds): what shows that later requests are served from memory.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    async fn draw(&self, template: &Template) -> Result<Example, ProviderError> {
        let answers: Vec<Answer> = template
            .questions
            .iter()
            .map(|q| Answer {
                text: q.default.clone(),
                defaulted: true,
                skipped: true,
                reasked: false,
            })
            .collect();
        let composition = domain::compose(template, &template.name, &answers, 2000);
        let image = self
            .renderer
            .generate(ImageRequest::new(
                &composition.prompt,
                template.default_aspect_ratio,
            ))
            .await?;
        let drawn = image.bytes.clone();
        let small = imaging::off_thread(move || {
            imaging::thumbnail_within(&drawn, EXAMPLE_LONG_EDGE, EXAMPLE_LONG_EDGE)
        })
        .await
        .map_err(|_| ProviderError::BadResponse("the thumbnail stopped".into()))?
        .map_err(|e| ProviderError::BadResponse(format!("thumbnail: {e}")))?;
        let (bytes, mime_type) = match small {
            Some(jpeg) => (Bytes::from(jpeg), "image/jpeg".to_owned()),
            None => (image.bytes, image.mime_type),
        };
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
        Ok(Example {
            bytes,
            mime_type,
            etag,
        })
    }
}

/// 12 hex characters of a hash over everything the picture is drawn from.
fn version(template: &Template) -> String {
    let mut hash = Sha256::new();
    hash.update(template.name.as_bytes());
    hash.update(template.opening.as_bytes());
    hash.update(template.style.as_bytes());
    hash.update(template.default_aspect_ratio.as_str().as_bytes());
    for question in &template.questions {
        hash.update(question.lead.as_bytes());
        hash.update(question.default.as_bytes());
    }
    // A new build may draw differently.
    hash.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(&hash.finalize()[..6])
}

/// Shared by the state and the route.
pub type SharedExamples = Arc<TemplateExamples>;
