//! What images and references share in the object store: reads that take a missing object as
//! none (dropped by a sweep between the row and the bytes, or removed by hand), whole or as a
//! stream, and a delete that takes it as done.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use tokio_util::io::ReaderStream;

use crate::StoreError;

/// The object's bytes, or `None` when there is no such object.
pub(crate) async fn read(
    objects: &dyn ObjectStore,
    key: &Path,
) -> Result<Option<Bytes>, StoreError> {
    match objects.get(key).await {
        Ok(found) => Ok(Some(found.bytes().await?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// An object's bytes as they are read.
pub type Chunks = BoxStream<'static, Result<Bytes, StoreError>>;

/// How much of a file in a folder store is read at a time. object_store's own stream reads 8 KiB
/// on a blocking thread each; this is fewer hops for a 4K image, and still a small, fixed
/// amount held per download.
const FILE_CHUNK: usize = 128 * 1024;

/// The object's length and its bytes as they are read, or `None` when there is no such object.
pub(crate) async fn open(
    objects: &dyn ObjectStore,
    key: &Path,
) -> Result<Option<(u64, Chunks)>, StoreError> {
    let found = match objects.get(key).await {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = found.meta.size;
    let chunks = match found.payload {
        GetResultPayload::File(file, _) => {
            ReaderStream::with_capacity(tokio::fs::File::from_std(file), FILE_CHUNK)
                .map_err(|e| {
                    StoreError::Objects(object_store::Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(e),
                    })
                })
                .boxed()
        }
        GetResultPayload::Stream(stream) => stream.map_err(StoreError::from).boxed(),
    };
    Ok(Some((size, chunks)))
}

/// Best effort: a leftover object without a row is never served, only wasted space. `what` names
/// it in the warning.
pub(crate) async fn delete(objects: &dyn ObjectStore, key: &Path, what: &str) {
    match objects.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => tracing::warn!(error = %e, "could not delete {what}"),
    }
}
