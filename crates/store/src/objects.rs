//! What images and references share in the object store: a read that takes a missing object as
//! none (dropped by a sweep between the row and the bytes, or removed by hand) and a delete that
//! takes it as done.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

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

/// Best effort: a leftover object without a row is never served, only wasted space. `what` names
/// it in the warning.
pub(crate) async fn delete(objects: &dyn ObjectStore, key: &Path, what: &str) {
    match objects.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => tracing::warn!(error = %e, "could not delete {what}"),
    }
}
