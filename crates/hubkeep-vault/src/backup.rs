//! Backing up a directory tree: walk it, reuse the parent's chunk lists for
//! unchanged files, and stream every other file through a [`SnapshotWriter`].

use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_bytes::ByteBuf;

use crate::manifest::{Entry, KIND_DIR, KIND_FILE, KIND_SYMLINK};
use crate::writer::{ParentMap, SnapshotWriter};
use crate::{BackupOptions, SnapshotSummary, Vault, VaultError};

struct Found {
    rel: Vec<u8>,
    abs: PathBuf,
    meta: Metadata,
}

/// Every entry below `root` (not `root` itself), depth first; sockets, FIFOs and
/// devices are returned separately as skipped.
fn walk(root: &Path) -> Result<(Vec<Found>, Vec<String>), VaultError> {
    let root_meta =
        fs::metadata(root).map_err(|e| VaultError::io("read the backup source", root, e))?;
    if !root_meta.is_dir() {
        return Err(VaultError::io(
            "back up",
            root,
            io::Error::other("it is not a directory"),
        ));
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![(root.to_path_buf(), Vec::<u8>::new())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.is_empty() => continue,
            Err(e) => return Err(VaultError::io("list directory", &dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| VaultError::io("list directory", &dir, e))?;
            let mut child_rel = rel.clone();
            if !child_rel.is_empty() {
                child_rel.push(b'/');
            }
            child_rel.extend_from_slice(entry.file_name().as_bytes());
            let abs = entry.path();
            let meta = match fs::symlink_metadata(&abs) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    skipped.push(String::from_utf8_lossy(&child_rel).into_owned());
                    continue;
                }
                Err(e) => return Err(VaultError::io("read metadata of", &abs, e)),
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                stack.push((abs.clone(), child_rel.clone()));
            } else if !ft.is_file() && !ft.is_symlink() {
                skipped.push(String::from_utf8_lossy(&child_rel).into_owned());
                continue;
            }
            found.push(Found {
                rel: child_rel,
                abs,
                meta,
            });
        }
    }
    Ok((found, skipped))
}

fn entry_for(found: &Found, kind: u8) -> Entry {
    let m = &found.meta;
    Entry {
        path: ByteBuf::from(found.rel.clone()),
        kind,
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: m.mtime(),
        mtime_ns: m.mtime_nsec() as u32,
        ctime: m.ctime(),
        ctime_ns: m.ctime_nsec() as u32,
        ino: m.ino(),
        size: if kind == KIND_FILE { m.size() } else { 0 },
        target: None,
        chunks: Vec::new(),
    }
}

/// True when a file looks exactly as it did in the parent snapshot.
fn unchanged(entry: &Entry, parent: &Entry) -> bool {
    parent.kind == KIND_FILE
        && entry.size == parent.size
        && entry.mtime == parent.mtime
        && entry.mtime_ns == parent.mtime_ns
        && entry.ctime == parent.ctime
        && entry.ctime_ns == parent.ctime_ns
        && entry.ino == parent.ino
}

impl Vault {
    /// Backs up the directory `root` (its contents; `root` itself is not an entry)
    /// as one snapshot.
    pub fn backup_dir(
        &self,
        root: &Path,
        opts: &BackupOptions,
    ) -> Result<SnapshotSummary, VaultError> {
        let parent: ParentMap = match &opts.parent {
            Some(id) => self
                .load_entries(id)?
                .into_iter()
                .map(|e| (e.path.to_vec(), e))
                .collect(),
            None => ParentMap::new(),
        };
        let mut writer = SnapshotWriter::new(
            self,
            &opts.kind,
            opts.meta.clone(),
            opts.parent.clone(),
            opts.progress.clone(),
        )?;
        let (found, skipped) = walk(root)?;
        writer.counters.skipped = skipped;
        if let Some(p) = writer.progress() {
            p.start(
                found
                    .iter()
                    .filter(|f| f.meta.is_file())
                    .map(|f| f.meta.len())
                    .sum(),
            );
        }
        for f in &found {
            let ft = f.meta.file_type();
            if ft.is_dir() {
                writer.push_entry(entry_for(f, KIND_DIR));
            } else if ft.is_symlink() {
                let mut entry = entry_for(f, KIND_SYMLINK);
                let target =
                    fs::read_link(&f.abs).map_err(|e| VaultError::io("read symlink", &f.abs, e))?;
                entry.target = Some(ByteBuf::from(target.as_os_str().as_bytes().to_vec()));
                writer.push_entry(entry);
            } else {
                let mut entry = entry_for(f, KIND_FILE);
                match parent.get(&f.rel) {
                    Some(p) if unchanged(&entry, p) && writer.all_known(&p.chunks) => {
                        entry.chunks = p.chunks.clone();
                        writer.counters.files_unchanged += 1;
                        if let Some(progress) = writer.progress() {
                            progress.advance(entry.size);
                        }
                    }
                    _ => {
                        let file = File::options()
                            .read(true)
                            .custom_flags(libc::O_NOFOLLOW)
                            .open(&f.abs);
                        let mut file = match file {
                            Ok(file) => file,
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                                writer
                                    .counters
                                    .skipped
                                    .push(String::from_utf8_lossy(&f.rel).into_owned());
                                continue;
                            }
                            Err(e) => return Err(VaultError::io("open", &f.abs, e)),
                        };
                        let (chunks, size) = writer.chunk_file(&mut file).map_err(|e| {
                            e.into_vault_error(|source| VaultError::io("read", &f.abs, source))
                        })?;
                        entry.chunks = chunks;
                        entry.size = size;
                    }
                }
                writer.push_entry(entry);
            }
        }
        writer.commit()
    }
}
