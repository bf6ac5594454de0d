//! Write-once object storage for hubkeep vaults.
//!
//! This crate gives the vault engine one small, synchronous interface,
//! [`ObjectStore`], over two backends:
//!
//! * a local directory (`file:///abs/path`), written with plain `std::fs`: every
//!   object is a temp file that is fsynced, renamed into place, and followed by an
//!   fsync of its directory, so an object that `put` reported is durable;
//! * an S3-compatible bucket (`s3://bucket/prefix`), through the `object_store`
//!   crate on an internal tokio runtime, with path-style requests,
//!   `If-None-Match: *` for create-only writes, multipart uploads of large
//!   objects, parallel ranged reads and retries with backoff.
//!
//! [`Uploads`] writes objects on a few background threads at once, with a
//! flush that waits until every one is durable.
//!
//! Object names are `/`-separated relative keys such as `packs/3f…`; they are
//! validated once at the edge ([`validate_name`]). The crate knows nothing about
//! what the objects contain: encryption, packs and manifests belong to
//! `hubkeep-vault`.
//!
//! ```no_run
//! let store = hubkeep_store::open("file:///srv/vault", &hubkeep_store::S3Settings::from_env())?;
//! store.put("config", b"{}")?;
//! assert_eq!(store.get("config")?, b"{}");
//! # Ok::<(), hubkeep_store::StoreError>(())
//! ```
//!
//! With the `testing` feature, [`testing::SeaweedFs`] starts a throwaway SeaweedFS
//! S3 server on loopback for tests.
#![deny(missing_docs)]

mod error;
mod local;
mod s3;
#[cfg(feature = "testing")]
pub mod testing;
mod uploads;

use std::sync::Arc;
use std::time::SystemTime;

pub use error::StoreError;
pub use local::LocalStore;
pub use s3::{
    S3Settings, S3Store, MULTIPART_THRESHOLD, OPERATION_LIMIT, PARALLEL_WRITES, PART_CONCURRENCY,
    PART_SIZE, RANGE_PIECE,
};
pub use uploads::Uploads;

/// One object as listed by [`ObjectStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's full name, e.g. `packs/ab12…`.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// When the object was last written.
    pub modified: SystemTime,
}

/// A flat namespace of immutable objects.
///
/// Every method blocks until the backend answered. Implementations are cheap to
/// share between threads.
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Where the objects live: `file:///abs` or `s3://bucket/prefix`.
    fn location(&self) -> String;
    /// Writes `data` under `name`, replacing any previous object; durable when it returns.
    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError>;
    /// [`ObjectStore::put`] of a buffer the store may keep while it uploads,
    /// saving a copy of a large object.
    fn put_vec(&self, name: &str, data: Vec<u8>) -> Result<(), StoreError> {
        self.put(name, &data)
    }
    /// How many large writes [`Uploads`] keeps in flight: more hides network
    /// latency, each one holds its object in memory until it is durable.
    fn parallel_writes(&self) -> usize {
        1
    }
    /// Writes `data` only if nothing exists under `name`; returns `false` when an
    /// object was already there (and leaves it untouched).
    fn put_if_absent(&self, name: &str, data: &[u8]) -> Result<bool, StoreError>;
    /// Reads a whole object; [`StoreError::NotFound`] when it does not exist.
    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError>;
    /// Reads `len` bytes starting at `offset`; fails if the object is shorter.
    fn get_range(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError>;
    /// Lists every object whose name starts with `prefix` (a plain string prefix).
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    /// Removes an object; removing a missing object succeeds.
    fn delete(&self, name: &str) -> Result<(), StoreError>;
    /// Temp objects (a last name part starting with [`TEMP_PREFIX`]) that a
    /// writer killed mid-write left behind. [`ObjectStore::list`] never shows
    /// them; [`ObjectStore::delete`] removes them.
    fn list_temp(&self) -> Result<Vec<ObjectMeta>, StoreError>;
}

/// Names whose last part starts with this are temp objects, never real ones:
/// the local store writes every object under such a name first.
pub const TEMP_PREFIX: &str = ".tmp-";

/// True when `name` is a temp object's name.
pub fn is_temp(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with(TEMP_PREFIX))
}

/// Opens the store at `location` (`file:///abs/path` or `s3://bucket/prefix`).
///
/// A local directory is created when missing. For S3, `s3` supplies endpoint,
/// region and credentials; nothing is contacted until the first request.
pub fn open(location: &str, s3: &S3Settings) -> Result<Arc<dyn ObjectStore>, StoreError> {
    if let Some(path) = location.strip_prefix("file://") {
        Ok(Arc::new(LocalStore::open(std::path::Path::new(path))?))
    } else if location.starts_with("s3://") {
        Ok(Arc::new(S3Store::open(location, s3)?))
    } else {
        Err(StoreError::InvalidLocation {
            location: location.to_string(),
            reason:
                "it must start with file:// (an absolute directory) or s3:// (bucket and prefix)"
                    .into(),
        })
    }
}

/// Checks that `name` is a relative `/`-separated key without empty, `.` or `..`
/// components.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with('/') {
        Some("it starts with '/'")
    } else if name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        Some("it has an empty, '.' or '..' component")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_or_are_ambiguous_are_refused() {
        for bad in ["", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\0b"] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be refused");
        }
        for good in [
            "config",
            "packs/ab/cd",
            "snapshots/20261124T003501Z-9f3a1c2e",
            "a.b/c..d",
        ] {
            validate_name(good).unwrap();
        }
    }

    #[test]
    fn unknown_location_scheme_is_refused_with_advice() {
        let err = open("ftp://x", &S3Settings::from_env()).unwrap_err();
        assert!(err.to_string().contains("file://"), "{err}");
    }
}
