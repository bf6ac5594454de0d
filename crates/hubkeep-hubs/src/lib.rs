//! The Hubs profile: what hubkeep knows about Reticulum, the Hubs server.
//!
//! A hub's state is a PostgreSQL database (schema `ret0`, plus `ret0_admin`
//! and `coturn`), a file store (`owned/`, `expiring/`, `cached/`) whose
//! blobs are encrypted with per-file keys from the database *and* the
//! Phoenix `secret_key_base`, and that key itself. This crate:
//!
//! - speaks Reticulum's blob format ([`encrypt_blob`], [`decrypt_header`],
//!   [`decrypt_blob`]) and file-store layout ([`file_paths`], [`Meta`]);
//! - runs the **Hubs check** ([`check`] over a [`HubSource`]: a live hub,
//!   [`LiveHub`] / [`check_hub`], or a backup the service layer reads):
//!   every `owned_files` and `cached_files` row has its blob, long enough
//!   for its content, and its meta file, and sampled blobs decrypt with the
//!   phoenix-key to the recorded length; and finds **drift** between rows
//!   and blobs of a live hub ([`drift`]);
//! - builds a realistic **demo hub** ([`create_demo_schema`],
//!   [`populate_demo`], [`mutate_demo`]) for tests and `hubkeep demo`.
//!
//! It is not a backup engine: it never copies, snapshots or restores
//! anything, and it knows nothing of stacks, vaults or secrets storage.
//! Talking to PostgreSQL is synchronous (`postgres`, no TLS).
//!
//! ```no_run
//! let report = hubkeep_hubs::check_hub(
//!     "postgresql://postgres@127.0.0.1:5432/polycosm_production",
//!     std::path::Path::new("/storage"),
//!     "the phoenix secret_key_base",
//!     false,
//!     20,
//! )?;
//! assert!(report.passed, "{report:#?}");
//! # Ok::<(), hubkeep_hubs::HubsError>(())
//! ```
//!
//! The format and the check are described in `docs/hubs-profile.md`.
#![deny(missing_docs)]

mod check;
mod crypto;
mod db;
mod demo;
mod drift;
mod error;
mod layout;
mod live;
mod rehome;
mod schema;
mod source;

pub use check::{
    check, check_hub, CategoryResult, CheckOptions, CheckReport, CACHED_BLOB, CACHED_DECRYPT,
    CACHED_META, DEFAULT_SAMPLE, OWNED_BLOB, OWNED_DECRYPT, OWNED_META,
};
pub use crypto::{
    decrypt_blob, decrypt_header, encrypt_blob, encrypt_stream, HEADER_LEN, MAGIC, STREAM_CHUNK,
};
pub use demo::{mutate_demo, populate_demo, DemoHub, DemoMutation};
pub use drift::{drift, Drift};
pub use error::HubsError;
pub use layout::{file_paths, FilePaths, Meta, StorageArea};
pub use live::LiveHub;
pub use rehome::{rehome_urls, UrlRewrite};
pub use schema::{create_cluster_roles, create_demo_schema};
pub use source::{relative_path, FileRow, HubSource};
