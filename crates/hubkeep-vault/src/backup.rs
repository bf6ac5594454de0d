//! Backing up a directory tree: walk it in path order on its own thread,
//! merging the walk with the parent snapshot's tree as both stream by;
//! unchanged files reuse the parent's chunk lists, every other file is read
//! ahead on its own thread and streamed through a [`SnapshotWriter`], whose
//! tree goes out in chunks as it grows. Nothing holds the whole tree: memory
//! does not grow with the number of files.

use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use serde_bytes::ByteBuf;

use crate::manifest::{Entry, KIND_DIR, KIND_FILE, KIND_SYMLINK};
use crate::readahead::{ReadAhead, ReadEvent};
use crate::tree::TreeStream;
use crate::walk::{Found, Walk};
use crate::writer::{KnownChunks, Order, SnapshotWriter};
use crate::{BackupOptions, SnapshotSummary, SpecialFile, Vault, VaultError};

fn entry_for(rel: &[u8], m: &Metadata, kind: u8) -> Entry {
    Entry {
        path: ByteBuf::from(rel.to_vec()),
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

/// What the walk decided about one entry, in path order.
enum Step {
    /// A directory, a symlink, or an unchanged file with its parent's chunks.
    Ready { entry: Entry, reused: bool },
    /// A file to read: its bytes come from the read-ahead, in the same order.
    Read { entry: Entry, abs: PathBuf },
    /// The walk is over.
    End {
        skipped: Vec<String>,
        special: Vec<SpecialFile>,
    },
}

/// Entries the walk may be ahead of the writer: enough to keep read-ahead's
/// prefetch busy, small next to a directory listing.
const WALK_AHEAD: usize = 1024;

/// The parent's tree, read as far as the walk has come.
struct ParentCursor {
    stream: Option<TreeStream>,
    head: Option<Entry>,
}

impl ParentCursor {
    /// The parent's entry at `path`, if any; paths before it are passed over.
    fn find(&mut self, path: &[u8]) -> Result<Option<&Entry>, VaultError> {
        let Some(stream) = &mut self.stream else {
            return Ok(None);
        };
        loop {
            match &self.head {
                Some(h) if h.path.as_slice() >= path => break,
                _ => match stream.next().transpose()? {
                    Some(e) => self.head = Some(e),
                    None => {
                        self.stream = None;
                        self.head = None;
                        return Ok(None);
                    }
                },
            }
        }
        Ok(self.head.as_ref().filter(|h| h.path.as_slice() == path))
    }
}

/// The walk thread: decides, in path order, what each entry needs and sends
/// the files to read to the read-ahead before their steps to the writer.
fn walk_and_merge(
    mut walk: Walk,
    mut parent: ParentCursor,
    known: &KnownChunks,
    steps: &SyncSender<Result<Step, VaultError>>,
    to_read: Sender<(PathBuf, u64)>,
) -> Result<(), VaultError> {
    for found in walk.by_ref() {
        let Found { rel, abs, meta } = found?;
        let ft = meta.file_type();
        let step = if ft.is_dir() {
            Step::Ready {
                entry: entry_for(&rel, &meta, KIND_DIR),
                reused: false,
            }
        } else if ft.is_symlink() {
            let mut entry = entry_for(&rel, &meta, KIND_SYMLINK);
            let target =
                fs::read_link(&abs).map_err(|e| VaultError::io("read symlink", &abs, e))?;
            entry.target = Some(ByteBuf::from(target.as_os_str().as_bytes().to_vec()));
            Step::Ready {
                entry,
                reused: false,
            }
        } else {
            let mut entry = entry_for(&rel, &meta, KIND_FILE);
            let reusable = parent
                .find(&rel)?
                .filter(|p| unchanged(&entry, p) && known.contain_all(&p.chunks));
            match reusable {
                Some(p) => {
                    entry.chunks = p.chunks.clone();
                    Step::Ready {
                        entry,
                        reused: true,
                    }
                }
                None => {
                    if to_read.send((abs.clone(), meta.len())).is_err() {
                        return Ok(());
                    }
                    Step::Read { entry, abs }
                }
            }
        };
        if steps.send(Ok(step)).is_err() {
            return Ok(());
        }
    }
    let mut special = std::mem::take(&mut walk.special);
    special.sort_by(|a, b| a.path.cmp(&b.path));
    let _ = steps.send(Ok(Step::End {
        skipped: std::mem::take(&mut walk.skipped),
        special,
    }));
    Ok(())
}

impl Vault {
    /// Backs up the directory `root` (its contents; `root` itself is not an entry)
    /// as one snapshot.
    pub fn backup_dir(
        &self,
        root: &Path,
        opts: &BackupOptions,
    ) -> Result<SnapshotSummary, VaultError> {
        let walk = Walk::new(root)?;
        let mut writer = SnapshotWriter::new(
            self,
            &opts.kind,
            opts.meta.clone(),
            opts.parent.clone(),
            opts.progress.clone(),
            Order::Sorted,
        )?;
        if let Some(at) = opts.created {
            writer = writer.at(at);
        }
        if let Some(p) = writer.progress() {
            // Only a progress bar needs the total up front: one more pass
            // over the metadata, none over the contents.
            let mut total = 0;
            for found in Walk::new(root)? {
                let found = found?;
                if found.meta.is_file() {
                    total += found.meta.len();
                }
            }
            p.start(total);
        }
        let parent = ParentCursor {
            stream: writer.take_parent_tree(),
            head: None,
        };
        let known = writer.known();
        let (steps_tx, steps_rx) = mpsc::sync_channel(WALK_AHEAD);
        let (read_tx, read_rx) = mpsc::channel();
        let reader = ReadAhead::start(read_rx, writer.pool())?;
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("hubkeep-walk".into())
                .spawn_scoped(s, move || {
                    if let Err(e) = walk_and_merge(walk, parent, &known, &steps_tx, read_tx) {
                        let _ = steps_tx.send(Err(e));
                    }
                })
                .map_err(|e| VaultError::Internal {
                    detail: format!("cannot start the walk thread: {e}"),
                })?;
            let stored = store_steps(&mut writer, &steps_rx, &reader);
            // Unblock the walk and the read-ahead before the scope joins them.
            drop(steps_rx);
            drop(reader);
            stored
        })?;
        writer.commit()
    }
}

/// Feeds the walk's steps to the writer, file contents from the read-ahead.
fn store_steps(
    writer: &mut SnapshotWriter,
    steps: &Receiver<Result<Step, VaultError>>,
    reader: &ReadAhead,
) -> Result<(), VaultError> {
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
    loop {
        let step = steps.recv().map_err(|_| VaultError::Internal {
            detail: "the walk thread stopped early".into(),
        })??;
        match step {
            Step::Ready { entry, reused } => {
                if reused {
                    writer.counters.files_unchanged += 1;
                    if let Some(progress) = writer.progress() {
                        progress.advance(entry.size);
                    }
                }
                writer.push_entry(entry)?;
            }
            Step::Read { entry, abs } => {
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
                                writer.end_file(entry)?;
                                break;
                            }
                        }
                        ReadEvent::Vanished { file } => {
                            debug_assert_eq!(file, this);
                            writer
                                .counters
                                .skipped
                                .push(String::from_utf8_lossy(&entry.path).into_owned());
                            break;
                        }
                        ReadEvent::Failed {
                            file,
                            action,
                            error,
                        } => {
                            debug_assert_eq!(file, this);
                            return Err(VaultError::io(action, &abs, error));
                        }
                    }
                }
            }
            Step::End { skipped, special } => {
                writer.counters.skipped.extend(skipped);
                writer.counters.special_files = special;
                return Ok(());
            }
        }
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
