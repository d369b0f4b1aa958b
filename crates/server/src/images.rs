//! Generated images, in memory, bounded in bytes: the oldest are dropped first. Ids are 128 random
//! bits, so an image URL is unguessable and can be opened or downloaded without the cookie.

use std::sync::Mutex;

use bytes::Bytes;
use lru::LruCache;

/// Image bytes with their media type.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub bytes: Bytes,
    pub mime_type: String,
}

pub struct ImageStore {
    inner: Mutex<Inner>,
    cap_bytes: usize,
}

struct Inner {
    images: LruCache<String, StoredImage>,
    bytes: usize,
}

impl ImageStore {
    pub fn new(cap_bytes: usize) -> ImageStore {
        ImageStore {
            inner: Mutex::new(Inner {
                images: LruCache::unbounded(),
                bytes: 0,
            }),
            cap_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores an image and returns its new id (32 hex characters).
    pub fn insert(&self, image: StoredImage) -> String {
        let id = crate::ids::random_id();
        let mut inner = self.lock();
        inner.bytes += image.bytes.len();
        inner.images.push(id.clone(), image);
        // Insertion order is the eviction order: `get` uses `peek`, so viewing does not refresh.
        while inner.bytes > self.cap_bytes && inner.images.len() > 1 {
            if let Some((_, old)) = inner.images.pop_lru() {
                inner.bytes -= old.bytes.len();
            }
        }
        id
    }

    pub fn get(&self, id: &str) -> Option<StoredImage> {
        self.lock().images.peek(id).cloned()
    }

    /// (images, bytes) currently held.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.images.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(n: usize) -> StoredImage {
        StoredImage {
            bytes: Bytes::from(vec![0u8; n]),
            mime_type: "image/png".into(),
        }
    }

    #[test]
    fn the_oldest_images_go_first_when_over_the_cap() {
        let store = ImageStore::new(250);
        let a = store.insert(image(100));
        let b = store.insert(image(100));
        store.get(&a).expect("a still there");
        let c = store.insert(image(100));
        assert!(store.get(&a).is_none(), "a was stored first");
        assert!(store.get(&b).is_some() && store.get(&c).is_some());
        assert_eq!(store.usage(), (2, 200));
    }

    #[test]
    fn ids_are_long_and_distinct() {
        let store = ImageStore::new(1000);
        let a = store.insert(image(1));
        let b = store.insert(image(1));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
