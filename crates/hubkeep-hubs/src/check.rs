//! The Hubs check: does this database belong with this file store and this
//! `secret_key_base`? Every `owned_files` row needs its blob and meta file,
//! and a sample of blobs must decrypt to the magic header and the length the
//! meta file records. The same for `cached_files` where the table exists.
//!
//! A blob's size proves nothing (Reticulum pads short stream chunks), so the
//! check reads and decrypts headers; it never compares sizes.

use std::path::{Path, PathBuf};

use rand::seq::index::sample as sample_indices;
use serde::Serialize;

use crate::crypto::decrypt_header;
use crate::db::HubDb;
use crate::error::HubsError;
use crate::layout::{file_paths, read_header, require_storage, Meta, StorageArea};

/// At most this many problems are listed per category; the counts stay exact.
const MAX_LISTED_PROBLEMS: usize = 50;

pub const OWNED_BLOB: &str = "owned_files: blob present";
pub const OWNED_META: &str = "owned_files: meta present";
pub const OWNED_DECRYPT: &str = "owned_files: decrypts with phoenix-key";
pub const CACHED_BLOB: &str = "cached_files: blob present";
pub const CACHED_META: &str = "cached_files: meta present";
pub const CACHED_DECRYPT: &str = "cached_files: decrypts with phoenix-key";

/// One line of the check: how many things were looked at, how many were
/// fine, and a sentence per problem (naming the uuid and path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryResult {
    pub name: String,
    pub checked: usize,
    pub ok: usize,
    pub problems: Vec<String>,
    /// Whether a problem here fails the check. Missing cached files do not:
    /// Reticulum drops a `cached_files` row whose blob is gone and fetches
    /// the media again.
    pub required: bool,
}

impl CategoryResult {
    fn new(name: &str, required: bool) -> Self {
        CategoryResult {
            name: name.to_string(),
            checked: 0,
            ok: 0,
            problems: Vec::new(),
            required,
        }
    }

    fn pass(&mut self) {
        self.checked += 1;
        self.ok += 1;
    }

    fn fail(&mut self, problem: String) {
        self.checked += 1;
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(problem);
        }
    }

    fn finish(mut self) -> Self {
        let unlisted = self.checked - self.ok - self.problems.len();
        if unlisted > 0 {
            self.problems
                .push(format!("… and {unlisted} more like these"));
        }
        self
    }

    /// True when nothing was wrong in this category.
    pub fn clean(&self) -> bool {
        self.ok == self.checked
    }
}

/// The whole check. `passed` is true when every required category is clean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub categories: Vec<CategoryResult>,
    /// How many blob headers were decrypted (owned and cached together).
    pub sampled: usize,
    pub passed: bool,
}

impl CheckReport {
    pub fn category(&self, name: &str) -> Option<&CategoryResult> {
        self.categories.iter().find(|c| c.name == name)
    }
}

/// One stored file as the database describes it.
struct StoredFile {
    table: &'static str,
    uuid: String,
    key: String,
    /// The row's own length, when the table records one.
    row_length: Option<i64>,
    blob: Option<PathBuf>,
    meta: Option<Meta>,
}

/// Checks the hub whose database is at `db_url` and whose file store is at
/// `storage` against `secret_key_base` (the phoenix-key). Decrypts the
/// header of `sample` random blobs per table, or of every blob with
/// `read_all`.
pub fn check_hub(
    db_url: &str,
    storage: &Path,
    secret_key_base: &str,
    read_all: bool,
    sample: usize,
) -> Result<CheckReport, HubsError> {
    require_storage(storage)?;
    let mut db = HubDb::connect(db_url)?;
    db.require_table("owned_files")?;
    let mut categories = Vec::new();
    let mut sampled = 0;

    let owned = db
        .client
        .query(
            "SELECT owned_file_uuid, key, content_length FROM ret0.owned_files ORDER BY owned_file_id",
            &[],
        )
        .map_err(db.failed("reading ret0.owned_files"))?;
    let mut blob_cat = CategoryResult::new(OWNED_BLOB, true);
    let mut meta_cat = CategoryResult::new(OWNED_META, true);
    let files: Vec<StoredFile> = owned
        .iter()
        .map(|row| {
            let uuid: String = row.get(0);
            let paths = file_paths(storage, StorageArea::Owned, &uuid);
            locate(
                StoredFile {
                    table: "owned file",
                    uuid,
                    key: row.get(1),
                    row_length: Some(row.get(2)),
                    blob: None,
                    meta: None,
                },
                &[paths.blob],
                &mut blob_cat,
                &mut meta_cat,
            )
        })
        .collect();
    let decrypt_cat = decrypt_sample(&files, OWNED_DECRYPT, secret_key_base, read_all, sample);
    sampled += decrypt_cat.checked;
    categories.extend([blob_cat.finish(), meta_cat.finish(), decrypt_cat]);

    if db.has_table("cached_files")? {
        let cached = db
            .client
            .query(
                "SELECT file_uuid, file_key FROM ret0.cached_files ORDER BY cached_file_id",
                &[],
            )
            .map_err(db.failed("reading ret0.cached_files"))?;
        let mut blob_cat = CategoryResult::new(CACHED_BLOB, false);
        let mut meta_cat = CategoryResult::new(CACHED_META, false);
        let files: Vec<StoredFile> = cached
            .iter()
            .map(|row| {
                let uuid: String = row.get(0);
                // Reticulum still serves cached files written before cached/
                // existed from expiring/ (Ret.Storage.migrate/1).
                let places = [
                    file_paths(storage, StorageArea::Cached, &uuid).blob,
                    file_paths(storage, StorageArea::Expiring, &uuid).blob,
                ];
                locate(
                    StoredFile {
                        table: "cached file",
                        uuid,
                        key: row.get(1),
                        row_length: None,
                        blob: None,
                        meta: None,
                    },
                    &places,
                    &mut blob_cat,
                    &mut meta_cat,
                )
            })
            .collect();
        let decrypt_cat = decrypt_sample(&files, CACHED_DECRYPT, secret_key_base, read_all, sample);
        sampled += decrypt_cat.checked;
        categories.extend([blob_cat.finish(), meta_cat.finish(), decrypt_cat]);
    }

    let passed = categories.iter().all(|c| !c.required || c.clean());
    Ok(CheckReport {
        categories,
        sampled,
        passed,
    })
}

/// Finds the file's blob among `places` (first hit wins) and reads its meta
/// file next to it, recording both outcomes.
fn locate(
    mut file: StoredFile,
    places: &[PathBuf],
    blob_cat: &mut CategoryResult,
    meta_cat: &mut CategoryResult,
) -> StoredFile {
    match places.iter().find(|p| p.is_file()) {
        Some(blob) => {
            blob_cat.pass();
            file.blob = Some(blob.clone());
        }
        None => blob_cat.fail(format!(
            "{} {}: blob missing at {}",
            file.table,
            file.uuid,
            places[0].display()
        )),
    }
    let meta_path = file
        .blob
        .as_deref()
        .unwrap_or(&places[0])
        .with_file_name(format!("{}.meta.json", file.uuid));
    match Meta::read(&meta_path) {
        Ok(meta) => {
            meta_cat.pass();
            file.meta = Some(meta);
        }
        Err(HubsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            meta_cat.fail(format!(
                "{} {}: meta file missing at {}",
                file.table,
                file.uuid,
                meta_path.display()
            ))
        }
        Err(e) => meta_cat.fail(format!("{} {}: {e}", file.table, file.uuid)),
    }
    file
}

/// Decrypts the headers of a random sample (or all) of the files that have
/// a blob, comparing the declared length with the meta file's, or the row's
/// when the meta file is missing.
fn decrypt_sample(
    files: &[StoredFile],
    name: &str,
    secret_key_base: &str,
    read_all: bool,
    sample: usize,
) -> CategoryResult {
    let mut cat = CategoryResult::new(name, true);
    let present: Vec<&StoredFile> = files.iter().filter(|f| f.blob.is_some()).collect();
    let chosen: Vec<&StoredFile> = if read_all || sample >= present.len() {
        present
    } else {
        let mut picks = sample_indices(&mut rand::thread_rng(), present.len(), sample).into_vec();
        picks.sort_unstable();
        picks.into_iter().map(|i| present[i]).collect()
    };
    for file in chosen {
        match header_problem(file, secret_key_base) {
            None => cat.pass(),
            Some(problem) => cat.fail(problem),
        }
    }
    cat.finish()
}

fn header_problem(file: &StoredFile, secret_key_base: &str) -> Option<String> {
    let blob = file.blob.as_deref()?;
    let what = format!("{} {} ({})", file.table, file.uuid, blob.display());
    let head = match read_header(blob) {
        Ok(head) => head,
        Err(e) => return Some(format!("{what}: {e}")),
    };
    let declared = match decrypt_header(&file.key, secret_key_base, &head) {
        Ok(length) => length,
        Err(e) => return Some(format!("{what}: {e}")),
    };
    let (expected, source) = match (&file.meta, file.row_length) {
        (Some(meta), _) => (meta.content_length, "its meta file"),
        (None, Some(row)) => (row as u64, "its database row"),
        (None, None) => return None,
    };
    // The header holds the length modulo 2³² (Erlang's <<size::size(32)>>).
    if u64::from(declared) != expected & 0xFFFF_FFFF {
        return Some(format!(
            "{what}: the blob declares {declared} bytes but {source} says {expected}: blob and metadata come from different files; restore them together"
        ));
    }
    None
}
