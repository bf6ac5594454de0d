//! Backing up a directory tree: walk it, reuse the parent's chunk lists for
//! unchanged files, and stream every other file through a [`SnapshotWriter`],
//! read ahead on their own thread.

use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_bytes::ByteBuf;

use crate::manifest::{Entry, KIND_DIR, KIND_FILE, KIND_SYMLINK};
use crate::readahead::{ReadAhead, ReadEvent};
use crate::writer::{ParentMap, SnapshotWriter};
use crate::{BackupOptions, SnapshotSummary, SpecialFile, SpecialKind, Vault, VaultError};

struct Found {
    rel: Vec<u8>,
    abs: PathBuf,
    meta: Metadata,
}

/// What a walk found: entries to store, paths that vanished, special files.
type Walked = (Vec<Found>, Vec<String>, Vec<SpecialFile>);

/// Every entry below `root` (not `root` itself), depth first; sockets, FIFOs and
/// devices are returned separately, as are paths that vanished.
fn walk(root: &Path) -> Result<Walked, VaultError> {
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
    let mut special = Vec::new();
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
                let kind = if ft.is_fifo() {
                    SpecialKind::Fifo
                } else if ft.is_socket() {
                    SpecialKind::Socket
                } else if ft.is_block_device() {
                    SpecialKind::BlockDevice
                } else {
                    SpecialKind::CharDevice
                };
                special.push(SpecialFile {
                    path: String::from_utf8_lossy(&child_rel).into_owned(),
                    kind,
                });
                continue;
            }
            found.push(Found {
                rel: child_rel,
                abs,
                meta,
            });
        }
    }
    special.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((found, skipped, special))
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
        let (found, skipped, special) = walk(root)?;
        writer.counters.skipped = skipped;
        writer.counters.special_files = special;
        if let Some(p) = writer.progress() {
            p.start(
                found
                    .iter()
                    .filter(|f| f.meta.is_file())
                    .map(|f| f.meta.len())
                    .sum(),
            );
        }
        // Decide first which files must be read, so read-ahead can start on them.
        let mut reuse: Vec<Option<&Entry>> = Vec::with_capacity(found.len());
        let mut to_read = Vec::new();
        for f in &found {
            let parent_entry = if f.meta.is_file() {
                parent.get(&f.rel).filter(|p| {
                    unchanged(&entry_for(f, KIND_FILE), p) && writer.all_known(&p.chunks)
                })
            } else {
                None
            };
            if f.meta.is_file() && parent_entry.is_none() {
                to_read.push((f.abs.clone(), f.meta.len()));
            }
            reuse.push(parent_entry);
        }
        let reader = ReadAhead::start(to_read, writer.pool())?;
        let mut events = std::collections::VecDeque::new();
        let mut next_event = || -> Result<ReadEvent, VaultError> {
            if events.is_empty() {
                events.extend(reader.next_batch().ok_or_else(|| VaultError::Internal {
                    detail: "the read-ahead thread stopped early".into(),
                })?);
            }
            Ok(events.pop_front().expect("a batch is never empty"))
        };
        let mut read_index = 0;
        for (f, reused) in found.iter().zip(reuse) {
            let ft = f.meta.file_type();
            if ft.is_dir() {
                writer.push_entry(entry_for(f, KIND_DIR));
            } else if ft.is_symlink() {
                let mut entry = entry_for(f, KIND_SYMLINK);
                let target =
                    fs::read_link(&f.abs).map_err(|e| VaultError::io("read symlink", &f.abs, e))?;
                entry.target = Some(ByteBuf::from(target.as_os_str().as_bytes().to_vec()));
                writer.push_entry(entry);
            } else if let Some(p) = reused {
                let mut entry = entry_for(f, KIND_FILE);
                entry.chunks = p.chunks.clone();
                writer.counters.files_unchanged += 1;
                if let Some(progress) = writer.progress() {
                    progress.advance(entry.size);
                }
                writer.push_entry(entry);
            } else {
                let this = read_index;
                read_index += 1;
                writer.begin_file();
                loop {
                    match next_event()? {
                        ReadEvent::Data {
                            file,
                            block,
                            range,
                            last,
                        } => {
                            debug_assert_eq!(file, this);
                            writer.feed_file(&block, range, last)?;
                            if last {
                                writer.end_file(entry_for(f, KIND_FILE));
                                break;
                            }
                        }
                        ReadEvent::Vanished { file } => {
                            debug_assert_eq!(file, this);
                            writer
                                .counters
                                .skipped
                                .push(String::from_utf8_lossy(&f.rel).into_owned());
                            break;
                        }
                        ReadEvent::Failed {
                            file,
                            action,
                            error,
                        } => {
                            debug_assert_eq!(file, this);
                            return Err(VaultError::io(action, &f.abs, error));
                        }
                    }
                }
            }
        }
        drop(reader);
        writer.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunker::ChunkerParams;
    use fastcdc::v2020::{FastCDC, Normalization};
    use std::collections::BTreeMap;
    use std::ffi::OsStr;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Small files first (so the big ones start in the middle of a read-ahead
    /// block), big files that span several blocks, and three copies of one file.
    fn mixed_tree(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut files = BTreeMap::new();
        for i in 0..300u64 {
            files.insert(
                format!("a-small/{i:03}").into_bytes(),
                noise((i * 997 % 20_000) as usize, i),
            );
        }
        files.insert(b"b-big".to_vec(), noise(21 * 1024 * 1024 + 12_345, 1000));
        let copy = noise(5 * 1024 * 1024 + 7, 2000);
        for name in ["c-copy1", "c-copy2", "c-copy3"] {
            files.insert(name.as_bytes().to_vec(), copy.clone());
        }
        files.insert(b"d-empty".to_vec(), Vec::new());
        for (rel, data) in &files {
            let path = root.join(OsStr::from_bytes(rel));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        }
        files
    }

    #[test]
    fn the_same_tree_backed_up_twice_gives_the_same_snapshot_tree_and_nothing_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = hubkeep_store::open(
            &format!("file://{}/vault", dir.path().display()),
            &Default::default(),
        )
        .unwrap();
        let vault = Vault::create(store).unwrap().vault;
        let src = dir.path().join("src");
        let files = mixed_tree(&src);
        let total: u64 = files.values().map(|d| d.len() as u64).sum();

        let first = vault.backup_dir(&src, &BackupOptions::default()).unwrap();
        assert_eq!(first.bytes_read, total);
        assert_eq!(
            first.bytes_new,
            total - 2 * files[&b"c-copy1".to_vec()].len() as u64,
            "the three copies are stored once"
        );
        let second = vault.backup_dir(&src, &BackupOptions::default()).unwrap();
        assert_eq!((second.bytes_new, second.chunks_new), (0, 0), "{second:?}");
        assert_eq!(second.bytes_stored, 0, "not even the tree is stored again");
        let trees: Vec<_> = [&first.id, &second.id]
            .iter()
            .map(|id| vault.load_manifest(id).unwrap().tree)
            .collect();
        assert_eq!(trees[0], trees[1]);

        // Cut in read-ahead blocks, every file has the chunks FastCDC makes
        // with the whole file in view.
        let p = ChunkerParams::DEFAULT;
        let seed = vault.inner.keys.chunker_seed;
        for e in vault.load_entries(&first.id).unwrap() {
            let Some(data) = files.get(e.path.as_slice()) else {
                continue;
            };
            let expected: Vec<(crate::crypto::ChunkId, u64)> = FastCDC::with_level_and_seed(
                data,
                p.min,
                p.avg,
                p.max,
                Normalization::Level1,
                seed,
            )
            .map(|c| {
                let bytes = &data[c.offset..c.offset + c.length];
                (vault.inner.keys.chunk_id(bytes), bytes.len() as u64)
            })
            .collect();
            let got: Vec<_> = e.chunks.iter().map(|c| (c.id(), c.len())).collect();
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(&e.path));
            assert_eq!(e.size, data.len() as u64);
        }
    }
}
