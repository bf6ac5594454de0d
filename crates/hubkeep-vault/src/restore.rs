//! Restoring a snapshot into a new or empty directory.
//!
//! Every path is validated before anything is written. Files are created
//! (empty) first, then filled pack by pack (each needed byte range of a pack
//! is read once, in order, by one of two threads per core, so reads overlap
//! decrypting and writing; every chunk is checked against its id and its
//! lengths, and a failing copy falls back to the chunk's next copy), then
//! metadata is applied: files, then symlinks, then directories deepest first.
//! A restore that fails removes what it wrote; one that is killed leaves a
//! journal next to its target, and the next restore into that target (or
//! [`clean_interrupted_restore`]) removes what it wrote.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use filetime::FileTime;

use crate::crypto::ChunkId;
use crate::index::IndexMap;
use crate::manifest::{length_lie, Entry, KIND_DIR, KIND_FILE, KIND_SYMLINK};
use crate::tree::TreeStream;
use crate::{blob, holder, RestoreOptions, RestoreSummary, Vault, VaultError};

/// Ranges of a pack closer than this are read as one request.
const MERGE_GAP: u64 = 1024 * 1024;
/// But no single request is larger than this: each filler thread holds one
/// range and one decoded chunk at a time.
const MAX_RANGE: u64 = 8 * 1024 * 1024;
/// Filler threads per core: while one waits for a read, another decrypts,
/// decompresses, checks or writes.
const FILLERS_PER_CORE: usize = 2;

fn lossy(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Refuses any entry that could write outside the target or is ambiguous.
pub(crate) fn validate_entries(snapshot: &str, entries: &[Entry]) -> Result<(), VaultError> {
    let mut validator = Validator::new(snapshot);
    entries.iter().try_for_each(|e| validator.check(e))
}

/// Checks a tree's entries one by one as they stream by, in memory that
/// does not grow with the tree: the paths must increase strictly (so none
/// appears twice), and no entry may lie under a file or a symlink.
pub(crate) struct Validator<'a> {
    snapshot: &'a str,
    last: Option<Vec<u8>>,
    /// Files and symlinks that a later entry could still lie under; each is
    /// a prefix of the last path, so there are at most as many as its depth.
    non_dirs: Vec<Vec<u8>>,
}

/// True while paths at or after `path` may still lie under `parent`: the
/// paths under it sort in `[parent/, parent0)` (`0` follows `/`).
fn may_lie_under(path: &[u8], parent: &[u8]) -> bool {
    path.iter().cmp(parent.iter().chain(b"0")) == std::cmp::Ordering::Less
}

impl<'a> Validator<'a> {
    pub fn new(snapshot: &'a str) -> Self {
        Validator {
            snapshot,
            last: None,
            non_dirs: Vec::new(),
        }
    }

    pub fn check(&mut self, e: &Entry) -> Result<(), VaultError> {
        let unsafe_entry = |path: &[u8], reason: &str| VaultError::UnsafeEntry {
            snapshot: self.snapshot.to_string(),
            path: lossy(path),
            reason: reason.to_string(),
        };
        let p = e.path.as_slice();
        if p.is_empty() {
            return Err(unsafe_entry(p, "empty path"));
        }
        if p[0] == b'/' {
            return Err(unsafe_entry(p, "absolute path"));
        }
        if p.contains(&0) {
            return Err(unsafe_entry(p, "NUL byte in path"));
        }
        if p.split(|b| *b == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..")
        {
            return Err(unsafe_entry(p, "empty, '.' or '..' component"));
        }
        if ![KIND_FILE, KIND_DIR, KIND_SYMLINK].contains(&e.kind) {
            return Err(unsafe_entry(p, "unknown entry kind"));
        }
        if e.kind == KIND_SYMLINK {
            match e.target.as_deref() {
                None => return Err(unsafe_entry(p, "symlink without a target")),
                Some(t) if t.is_empty() || t.contains(&0) => {
                    return Err(unsafe_entry(p, "symlink target empty or with a NUL byte"))
                }
                Some(_) => {}
            }
        } else if e.target.is_some() {
            return Err(unsafe_entry(
                p,
                "a target on an entry that is not a symlink",
            ));
        }
        if e.kind != KIND_FILE && (e.size != 0 || !e.chunks.is_empty()) {
            return Err(unsafe_entry(
                p,
                "a directory or symlink with a size or chunks",
            ));
        }
        if e.mode > 0o7777 {
            return Err(unsafe_entry(p, "mode wider than 0o7777"));
        }
        if e.mtime_ns >= 1_000_000_000 || e.ctime_ns >= 1_000_000_000 {
            return Err(unsafe_entry(p, "nanoseconds of 10^9 or more"));
        }
        match self.last.as_deref().map(|last| p.cmp(last)) {
            Some(std::cmp::Ordering::Equal) => return Err(unsafe_entry(p, "listed twice")),
            Some(std::cmp::Ordering::Less) => {
                return Err(unsafe_entry(
                    p,
                    "out of path order (a tree is sorted by path bytes)",
                ))
            }
            _ => {}
        }
        self.non_dirs.retain(|n| may_lie_under(p, n));
        if let Some(n) = self
            .non_dirs
            .iter()
            .find(|n| p.starts_with(n) && p.get(n.len()) == Some(&b'/'))
        {
            return Err(unsafe_entry(
                p,
                &format!("it lies under {:?}, which is a symlink or file", lossy(n)),
            ));
        }
        if e.kind != KIND_DIR {
            self.non_dirs.push(p.to_vec());
        }
        self.last = Some(p.to_vec());
        Ok(())
    }
}

/// Checks that the target is empty, creating it when missing; true when created.
fn check_target(target: &Path) -> Result<bool, VaultError> {
    match fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(VaultError::TargetNotEmpty {
                    target: target.display().to_string(),
                });
            }
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::create_dir_all(target)
            .map(|()| true)
            .map_err(|e| VaultError::io("create restore target", target, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(VaultError::TargetNotEmpty {
                target: target.display().to_string(),
            })
        }
        Err(e) => Err(VaultError::io("read restore target", target, e)),
    }
}

/// Sealed chunks to read from one pack: (offset, sealed length, id).
type PackReads = Vec<(u64, u64, ChunkId)>;

/// One place a chunk's bytes go: `len` is what the file's reference claims.
struct Dest {
    file: usize,
    offset: u64,
    len: u64,
}

struct Plan {
    /// pack → (offset, sealed len, chunk id) of each chunk's first copy,
    /// sorted by offset, each chunk once.
    packs: Vec<(Arc<str>, PackReads)>,
    dests: HashMap<ChunkId, Vec<Dest>>,
    /// file index → why it cannot be restored, known before reading.
    missing: HashMap<usize, String>,
}

fn plan(files: &[&Entry], index: &IndexMap) -> Plan {
    let mut dests: HashMap<ChunkId, Vec<Dest>> = HashMap::new();
    let mut by_pack: HashMap<Arc<str>, PackReads> = HashMap::new();
    let mut missing = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if let Some(why) = length_lie(f) {
            missing.insert(i, why);
            continue;
        }
        let mut offset = 0;
        for c in &f.chunks {
            let id = c.id();
            match index.first(&id) {
                Some(loc) => {
                    let d = dests.entry(id).or_default();
                    if d.is_empty() {
                        by_pack
                            .entry(loc.pack)
                            .or_default()
                            .push((loc.offset, loc.len, id));
                    }
                    d.push(Dest {
                        file: i,
                        offset,
                        len: c.len(),
                    });
                }
                None => {
                    missing
                        .entry(i)
                        .or_insert_with(|| format!("chunk {} is in no index", &id.to_hex()[..16]));
                }
            }
            offset += c.len();
        }
    }
    let mut packs: Vec<_> = by_pack.into_iter().collect();
    packs.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, blobs) in &mut packs {
        blobs.sort_by_key(|b| b.0);
    }
    Plan {
        packs,
        dests,
        missing,
    }
}

/// Groups sorted blobs into ranges to read in one request each.
fn ranges(blobs: &[(u64, u64, ChunkId)]) -> Vec<&[(u64, u64, ChunkId)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=blobs.len() {
        let split = i == blobs.len() || {
            let prev_end = blobs[i - 1].0 + blobs[i - 1].1;
            blobs[i].0 > prev_end.saturating_add(MERGE_GAP)
                || blobs[i].0 + blobs[i].1 - blobs[start].0 > MAX_RANGE
        };
        if split {
            out.push(&blobs[start..i]);
            start = i;
        }
    }
    out
}

struct Filler<'a> {
    vault: &'a Vault,
    index: &'a IndexMap,
    paths: Vec<PathBuf>,
    plan: &'a Plan,
    skip_damaged: bool,
    abort: AtomicBool,
    /// Chunks whose first copy failed: (chunk, object, what is wrong).
    failed_first: Mutex<Vec<(ChunkId, String)>>,
    /// file index → why it cannot be restored, found while filling.
    damaged: Mutex<HashMap<usize, String>>,
    /// Bytes written into each file so far.
    written: Vec<AtomicU64>,
    io_error: Mutex<Option<VaultError>>,
    opts: &'a RestoreOptions,
}

impl Filler<'_> {
    fn mark_damaged(&self, file: usize, why: String) {
        self.damaged
            .lock()
            .expect("damaged set")
            .entry(file)
            .or_insert(why);
        if !self.skip_damaged {
            self.abort.store(true, Ordering::SeqCst);
        }
    }

    /// A copy failed: the next copy is tried after the parallel pass; with
    /// no other copy, every file that needs the chunk is damaged now.
    fn copy_failed(&self, id: ChunkId, why: String) {
        if self.index.count(&id) > 1 {
            self.failed_first
                .lock()
                .expect("failed chunks")
                .push((id, why));
        } else {
            for d in &self.plan.dests[&id] {
                self.mark_damaged(d.file, why.clone());
            }
        }
    }

    fn fill_pack(&self, pack: &str, blobs: &[(u64, u64, ChunkId)]) {
        let object = format!("packs/{pack}");
        let store = &self.vault.inner.store;
        for range in ranges(blobs) {
            if self.abort.load(Ordering::SeqCst) {
                return;
            }
            let start = range[0].0;
            let last = range[range.len() - 1];
            match store.get_range(&object, start, last.0 + last.1 - start) {
                Ok(bytes) => {
                    for &(offset, len, id) in range {
                        let at = (offset - start) as usize;
                        if !self.take(&object, offset, id, &bytes[at..at + len as usize]) {
                            return;
                        }
                    }
                }
                // One entry running past the pack's end must not sink its
                // neighbours: read them one by one.
                Err(_) if range.len() > 1 => {
                    for &(offset, len, id) in range {
                        let ok = match store.get_range(&object, offset, len) {
                            Ok(bytes) => self.take(&object, offset, id, &bytes),
                            Err(e) => {
                                self.copy_failed(id, format!("{object}: {e}"));
                                true
                            }
                        };
                        if !ok {
                            return;
                        }
                    }
                }
                Err(e) => self.copy_failed(range[0].2, format!("{object}: {e}")),
            }
        }
    }

    /// Checks the sealed bytes of a chunk's first copy and delivers them;
    /// false after an I/O error.
    fn take(&self, object: &str, offset: u64, id: ChunkId, sealed: &[u8]) -> bool {
        let Some(loc) = self.index.first(&id) else {
            // The plan came from this index, so this is not reached.
            self.copy_failed(id, format!("{object}: no index lists the chunk"));
            return true;
        };
        let decoded = blob::decode(&self.vault.inner.keys, &id, sealed)
            .map_err(|d| format!("chunk {} at offset {offset} {d}", &id.to_hex()[..16]))
            .and_then(|data| crate::check_decoded_len(&id, &data, loc.raw_len, &loc).map(|()| data));
        match decoded {
            Ok(data) => self.deliver(&id, &data),
            Err(detail) => {
                self.copy_failed(id, format!("{object}: {detail}"));
                true
            }
        }
    }

    /// Tries the other copies of chunks whose first copy failed.
    fn fall_back(&self) {
        let failed = std::mem::take(&mut *self.failed_first.lock().expect("failed chunks"));
        for (id, first_why) in failed {
            if self.abort.load(Ordering::SeqCst) {
                return;
            }
            let found = self.index.copies(&id)[1..]
                .iter()
                .find_map(|loc| self.vault.read_copy(&id, loc, loc.raw_len).ok());
            match found {
                Some(data) => {
                    if !self.deliver(&id, &data) {
                        return;
                    }
                }
                None => {
                    let n = self.index.count(&id) - 1;
                    let why = format!("{first_why}; its {n} other copies fail too");
                    for d in &self.plan.dests[&id] {
                        self.mark_damaged(d.file, why.clone());
                    }
                }
            }
        }
    }

    /// Writes a checked chunk wherever it goes; false after an I/O error
    /// (which stops the restore).
    fn deliver(&self, id: &ChunkId, data: &[u8]) -> bool {
        match self.write(id, data) {
            Ok(()) => true,
            Err(e) => {
                self.io_error.lock().expect("io error").get_or_insert(e);
                self.abort.store(true, Ordering::SeqCst);
                false
            }
        }
    }

    fn write(&self, id: &ChunkId, data: &[u8]) -> Result<(), VaultError> {
        for d in &self.plan.dests[id] {
            if d.len != data.len() as u64 {
                // The chunk is genuine; the file's reference to it lies.
                self.mark_damaged(
                    d.file,
                    format!(
                        "chunk {} decodes to {} bytes but the file's reference to it says {}",
                        &id.to_hex()[..16],
                        data.len(),
                        d.len
                    ),
                );
                continue;
            }
            let path = &self.paths[d.file];
            let file = File::options()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .map_err(|e| VaultError::io("open restored file", path, e))?;
            file.write_all_at(data, d.offset)
                .map_err(|e| VaultError::io("write restored file", path, e))?;
            self.written[d.file].fetch_add(d.len, Ordering::SeqCst);
            if let Some(p) = &self.opts.progress {
                p.advance(data.len() as u64);
            }
        }
        Ok(())
    }
}

/// What a restore created in its target, removed again unless the restore
/// succeeds: a failed restore leaves no partial or zero-filled files, and no
/// directories it made. The target was empty when the restore began, so all
/// it holds is the restore's. With skip-damaged, complete files stay (and
/// the directories that hold them); only the files being filled go.
struct Undo {
    /// The journal that marks the restore as under way; removed either way.
    journal: Option<PathBuf>,
    target: PathBuf,
    /// The restore created the target (so it goes too).
    created_target: bool,
    keep_complete: bool,
    /// Files created and not known to be complete.
    unfinished: Vec<PathBuf>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.armed {
            self.undo();
        }
        // Last: until the files are gone, the journal tells a later
        // command that they are leftovers.
        if let Some(j) = &self.journal {
            let _ = fs::remove_file(j);
        }
    }
}

impl Undo {
    fn undo(&mut self) {
        // A directory restored read-only must be writable to be emptied.
        make_writable(&self.target);
        if self.keep_complete {
            for f in &self.unfinished {
                let _ = fs::remove_file(f);
            }
            remove_empty_dirs(&self.target);
        } else {
            let _ = empty_dir(&self.target);
        }
        if self.created_target {
            let _ = fs::remove_dir(&self.target);
        }
    }
}

/// Removes every directory below `dir` that holds nothing but empty
/// directories (deepest first).
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let p = e.path();
                remove_empty_dirs(&p);
                let _ = fs::remove_dir(&p);
            }
        }
    }
}

/// Removes everything in `dir` (not following symlinks), keeping `dir`.
fn empty_dir(dir: &Path) -> Result<(), VaultError> {
    for e in fs::read_dir(dir)
        .map_err(|e| VaultError::io("read restore target", dir, e))?
        .flatten()
    {
        let p = e.path();
        let removed = if e.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        removed.map_err(|err| VaultError::io("remove the interrupted restore's", &p, err))?;
    }
    Ok(())
}

/// A restore under way, recorded next to its target (`.<name>.hubkeep-restore`
/// in the target's parent) so that what a killed restore wrote can be told
/// from anything else and removed by the next command.
#[derive(serde::Serialize, serde::Deserialize)]
struct Journal {
    pid: u32,
    start: u64,
    boot_id: String,
    pid_ns: String,
    /// The restore created the target (so it goes too).
    created_target: bool,
}

fn journal_path(target: &Path) -> Result<PathBuf, VaultError> {
    match (target.parent(), target.file_name()) {
        (Some(parent), Some(name)) => {
            let mut file = std::ffi::OsString::from(".");
            file.push(name);
            file.push(".hubkeep-restore");
            Ok(parent.join(file))
        }
        _ => Err(VaultError::TargetNotEmpty {
            target: target.display().to_string(),
        }),
    }
}

fn write_journal(target: &Path, created_target: bool) -> Result<PathBuf, VaultError> {
    let path = journal_path(target)?;
    let me = holder::identity();
    let journal = Journal {
        pid: std::process::id(),
        start: holder::start_ticks(std::process::id()).unwrap_or_default(),
        boot_id: me.boot_id,
        pid_ns: me.pid_ns,
        created_target,
    };
    let bytes = serde_json::to_vec(&journal).expect("journal serializes");
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes).and_then(|()| f.sync_all()))
        .map_err(|e| VaultError::io("write restore journal", &path, e))?;
    Ok(path)
}

/// Makes every directory below `dir` (not following symlinks) writable, so
/// that a tree restored read-only can be removed.
fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&e.path());
            }
        }
    }
}

/// Removes what a restore into `target` that was killed (SIGKILL, power
/// loss) wrote: everything in the target, which was empty when it began,
/// and the target itself when that restore created it. True when there was
/// such a restore. A restore whose process still runs is refused; one that
/// ran on another machine (shared storage) is taken as gone, since nothing
/// there can be checked and two restores never share a target.
pub fn clean_interrupted_restore(target: &Path) -> Result<bool, VaultError> {
    let path = journal_path(target)?;
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(VaultError::io("read restore journal", &path, e)),
    };
    // A journal cut short by a crash while it was written describes an
    // empty target: only the target itself may be the restore's.
    let journal: Option<Journal> = serde_json::from_slice(&bytes).ok();
    if let Some(j) = &journal {
        let me = holder::identity();
        let here = !j.boot_id.is_empty() && j.boot_id == me.boot_id && j.pid_ns == me.pid_ns;
        if here && !holder::is_dead(&me, &j.boot_id, &j.pid_ns, j.pid, j.start) {
            return Err(VaultError::RestoreBusy {
                target: target.display().to_string(),
                pid: j.pid,
            });
        }
        if target.is_dir() {
            make_writable(target);
            empty_dir(target)?;
        }
        if j.created_target {
            let _ = fs::remove_dir(target);
        }
    }
    fs::remove_file(&path).map_err(|e| VaultError::io("remove restore journal", &path, e))?;
    Ok(true)
}

fn set_times(path: &Path, e: &Entry) -> Result<(), VaultError> {
    let t = FileTime::from_unix_time(e.mtime, e.mtime_ns);
    filetime::set_symlink_file_times(path, t, t)
        .map_err(|err| VaultError::io("set times of", path, err))
}

fn set_owner(path: &Path, e: &Entry) -> Result<(), VaultError> {
    // Ownership can only be given away by root; others keep their own.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::lchown(path, Some(e.uid), Some(e.gid))
            .map_err(|err| VaultError::io("set owner of", path, err))?;
    }
    Ok(())
}

fn set_mode(path: &Path, e: &Entry) -> Result<(), VaultError> {
    fs::set_permissions(path, fs::Permissions::from_mode(e.mode))
        .map_err(|err| VaultError::io("set permissions of", path, err))
}

/// A batch of the tree is restored (created, filled, given its metadata)
/// once it holds this many files or bytes: the memory a restore needs is
/// that of one batch, whatever the size of the tree.
const BATCH_FILES: usize = 16_384;
const BATCH_BYTES: u64 = 1024 * 1024 * 1024;

/// A restore under way: the tree streams through it in batches.
struct Restorer<'a> {
    vault: &'a Vault,
    index: &'a IndexMap,
    snapshot: &'a str,
    target: &'a Path,
    opts: &'a RestoreOptions,
    batch: Vec<Entry>,
    batch_bytes: u64,
    /// Directories whose contents may still come, each sorting inside the
    /// one below it (a chain as deep as the paths).
    open_dirs: Vec<Entry>,
    /// Directories whose contents have all come, deepest first: their
    /// mode, owner and times are set once their batch is filled.
    closed_dirs: Vec<Entry>,
    summary: RestoreSummary,
}

impl Restorer<'_> {
    fn full(&self, e: &Entry) -> PathBuf {
        self.target.join(OsStr::from_bytes(&e.path))
    }

    fn add(&mut self, e: Entry, undo: &mut Undo) -> Result<(), VaultError> {
        while self
            .open_dirs
            .last()
            .is_some_and(|d| !may_lie_under(&e.path, &d.path))
        {
            let done = self.open_dirs.pop().expect("a last directory");
            self.closed_dirs.push(done);
        }
        if e.kind == KIND_DIR {
            self.open_dirs.push(e.clone());
        }
        self.batch_bytes += e.size;
        self.batch.push(e);
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.restore_batch(undo)?;
        }
        Ok(())
    }

    /// Restores the batch: directories and empty files, then their
    /// contents pack by pack, then the files' and symlinks' metadata, then
    /// that of the directories that are complete.
    fn restore_batch(&mut self, undo: &mut Undo) -> Result<(), VaultError> {
        let entries = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        for e in &entries {
            let path = self.full(e);
            match e.kind {
                KIND_DIR => {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&path)
                        .map_err(|err| VaultError::io("create directory", &path, err))?;
                    self.summary.dirs += 1;
                }
                KIND_FILE => {
                    if let Some(parent) = path.parent() {
                        fs::DirBuilder::new()
                            .recursive(true)
                            .mode(0o700)
                            .create(parent)
                            .map_err(|err| VaultError::io("create directory", parent, err))?;
                    }
                    // Empty until its chunks arrive: the size comes from
                    // them, so a failed restore leaves no zero-filled file.
                    undo.unfinished.push(path.clone());
                    File::options()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .custom_flags(libc::O_NOFOLLOW)
                        .open(&path)
                        .map_err(|err| VaultError::io("create file", &path, err))?;
                }
                _ => {}
            }
        }
        let files: Vec<&Entry> = entries.iter().filter(|e| e.kind == KIND_FILE).collect();
        self.fill(&files, undo)?;
        undo.unfinished.clear();
        for e in entries.iter().filter(|e| e.kind == KIND_SYMLINK) {
            let path = self.full(e);
            let link_target = OsStr::from_bytes(e.target.as_ref().expect("validated"));
            std::os::unix::fs::symlink(link_target, &path)
                .map_err(|err| VaultError::io("create symlink", &path, err))?;
            set_owner(&path, e)?;
            set_times(&path, e)?;
            self.summary.symlinks += 1;
        }
        for e in std::mem::take(&mut self.closed_dirs) {
            let path = self.full(&e);
            set_owner(&path, &e)?;
            set_mode(&path, &e)?;
            set_times(&path, &e)?;
        }
        Ok(())
    }

    /// Fills the batch's files, pack by pack on several threads, and gives
    /// the complete ones their metadata; damaged ones fail the restore or,
    /// with skip-damaged, are removed and listed.
    fn fill(&mut self, files: &[&Entry], undo: &mut Undo) -> Result<(), VaultError> {
        let (opts, index) = (self.opts, self.index);
        let plan = plan(files, index);
        let filler = Filler {
            vault: self.vault,
            index,
            paths: files.iter().map(|e| self.full(e)).collect(),
            plan: &plan,
            skip_damaged: opts.skip_damaged,
            abort: AtomicBool::new(!opts.skip_damaged && !plan.missing.is_empty()),
            failed_first: Mutex::new(Vec::new()),
            damaged: Mutex::new(plan.missing.clone()),
            written: files.iter().map(|_| AtomicU64::new(0)).collect(),
            io_error: Mutex::new(None),
            opts,
        };
        let next = Mutex::new(plan.packs.iter());
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8)
            * FILLERS_PER_CORE;
        std::thread::scope(|s| {
            for _ in 0..threads.min(plan.packs.len()) {
                s.spawn(|| loop {
                    if filler.abort.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some((pack, blobs)) = next.lock().expect("pack queue").next() else {
                        return;
                    };
                    filler.fill_pack(pack, blobs);
                });
            }
        });
        filler.fall_back();
        let damaged_files = filler.damaged.into_inner().expect("damaged set");
        let complete: HashSet<usize> = (0..files.len())
            .filter(|i| {
                !damaged_files.contains_key(i)
                    && filler.written[*i].load(Ordering::SeqCst) == files[*i].size
            })
            .collect();
        if let Some(e) = filler.io_error.into_inner().expect("io error") {
            undo.unfinished = (0..files.len())
                .filter(|i| !complete.contains(i))
                .map(|i| filler.paths[i].clone())
                .collect();
            return Err(e);
        }

        // Which files are damaged, and why.
        if !damaged_files.is_empty() {
            let mut list: Vec<(usize, String)> = damaged_files.into_iter().collect();
            list.sort();
            if !opts.skip_damaged {
                let (i, why) = &list[0];
                return Err(VaultError::DamagedFile {
                    snapshot: self.snapshot.into(),
                    path: lossy(&files[*i].path),
                    detail: why.clone(),
                });
            }
            for (i, _) in &list {
                fs::remove_file(&filler.paths[*i])
                    .map_err(|err| VaultError::io("remove damaged file", &filler.paths[*i], err))?;
                self.summary.damaged_files.push(lossy(&files[*i].path));
            }
        }
        for (i, e) in files
            .iter()
            .enumerate()
            .filter(|(i, _)| complete.contains(i))
        {
            let path = &filler.paths[i];
            set_owner(path, e)?;
            set_mode(path, e)?;
            set_times(path, e)?;
            self.summary.files += 1;
            self.summary.bytes += e.size;
        }
        Ok(())
    }
}

impl Vault {
    /// Restores snapshot `id` into `target`, which must be missing or empty.
    ///
    /// A file is written only as its snapshot describes it: its size must be
    /// the sum of its chunk references and each chunk must decode to its
    /// reference's length; a chunk whose copy fails is read from its next
    /// copy. On any error everything the restore wrote is removed again —
    /// with `skip_damaged`, complete files stay.
    ///
    /// The tree is read twice as a stream, never held whole: once to refuse
    /// an unsafe tree before anything is written, once to restore it batch
    /// by batch.
    pub fn restore_dir(
        &self,
        id: &str,
        target: &Path,
        opts: &RestoreOptions,
    ) -> Result<RestoreSummary, VaultError> {
        let started = Instant::now();
        let manifest = self.load_manifest(id)?;
        let index = Arc::new(IndexMap::load_locations(
            &self.inner.store,
            &self.inner.keys,
        )?);
        let mut validator = Validator::new(id);
        let mut total = 0;
        for e in TreeStream::open(self, &manifest, index.clone()) {
            let e = e?;
            validator.check(&e)?;
            if e.kind == KIND_FILE {
                total += e.size;
            }
        }
        clean_interrupted_restore(target)?;
        let created_target = check_target(target)?;
        let mut undo = Undo {
            journal: None,
            target: target.to_path_buf(),
            created_target,
            keep_complete: opts.skip_damaged,
            unfinished: Vec::new(),
            armed: true,
        };
        undo.journal = Some(write_journal(target, created_target)?);
        if let Some(p) = &opts.progress {
            p.start(total);
        }
        let mut restorer = Restorer {
            vault: self,
            index: &index,
            snapshot: id,
            target,
            opts,
            batch: Vec::new(),
            batch_bytes: 0,
            open_dirs: Vec::new(),
            closed_dirs: Vec::new(),
            summary: RestoreSummary {
                snapshot: id.to_string(),
                ..Default::default()
            },
        };
        for e in TreeStream::open(self, &manifest, index.clone()) {
            restorer.add(e?, &mut undo)?;
        }
        restorer
            .closed_dirs
            .extend(std::mem::take(&mut restorer.open_dirs).into_iter().rev());
        restorer.restore_batch(&mut undo)?;
        undo.armed = false;
        let mut summary = restorer.summary;
        summary.duration_secs = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::entry;
    use serde_bytes::ByteBuf;

    fn check(entries: Vec<Entry>) -> Result<(), VaultError> {
        validate_entries("s", &entries)
    }

    #[test]
    fn traversal_and_absolute_paths_are_refused() {
        for bad in [
            &b"../x"[..],
            b"/abs",
            b"a/../b",
            b"a//b",
            b"./a",
            b"",
            b"a/.",
        ] {
            let err = check(vec![entry(bad, KIND_FILE)]).unwrap_err();
            assert!(
                matches!(err, VaultError::UnsafeEntry { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn entries_under_a_symlink_are_refused() {
        let err = check(vec![
            entry(b"link", KIND_SYMLINK),
            entry(b"link/file", KIND_FILE),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("\"link\""), "{err}");
        check(vec![
            entry(b"dir", KIND_DIR),
            entry(b"dir/file", KIND_FILE),
            entry(b"link", KIND_SYMLINK),
        ])
        .unwrap();
    }

    #[test]
    fn entries_out_of_the_formats_ranges_are_refused() {
        let mut dir_with_size = entry(b"d", KIND_DIR);
        dir_with_size.size = 10;
        let mut link_with_chunks = entry(b"l", KIND_SYMLINK);
        link_with_chunks.chunks = entry(b"f", KIND_FILE).chunks;
        let mut empty_target = entry(b"l", KIND_SYMLINK);
        empty_target.target = Some(ByteBuf::from(Vec::new()));
        let mut nul_target = entry(b"l", KIND_SYMLINK);
        nul_target.target = Some(ByteBuf::from(b"a\0b".to_vec()));
        let mut file_with_target = entry(b"f", KIND_FILE);
        file_with_target.target = Some(ByteBuf::from(b"t".to_vec()));
        let mut wide_mode = entry(b"f", KIND_FILE);
        wide_mode.mode = 0o100644;
        let mut wide_ns = entry(b"f", KIND_FILE);
        wide_ns.mtime_ns = 1_000_000_000;
        for (what, bad) in [
            ("dir with size", dir_with_size),
            ("symlink with chunks", link_with_chunks),
            ("empty target", empty_target),
            ("NUL in target", nul_target),
            ("file with target", file_with_target),
            ("mode", wide_mode),
            ("nanoseconds", wide_ns),
        ] {
            let err = check(vec![bad]).unwrap_err();
            assert!(
                matches!(err, VaultError::UnsafeEntry { .. }),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn duplicate_paths_are_refused() {
        assert!(check(vec![entry(b"a", KIND_FILE), entry(b"a", KIND_DIR)]).is_err());
    }

    #[test]
    fn nearby_blobs_are_read_in_one_range() {
        let id = ChunkId([0; 32]);
        let blobs = vec![(8, 100, id), (108, 100, id), (10_000_000, 5, id)];
        let r = ranges(&blobs);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].len(), 2);
    }
}

/// Crafted snapshots (entries a real backup never produces) are refused
/// before anything is written, inside or outside the target.
#[cfg(test)]
mod crafted {
    use super::*;
    use crate::manifest::tests::entry;

    fn crafted_snapshot(vault: &Vault, entries: Vec<Entry>) -> String {
        let mut w = vault.writer("files", serde_json::Value::Null).unwrap();
        for mut e in entries {
            e.chunks.clear();
            e.size = 0;
            w.push_entry(e).unwrap();
        }
        w.commit().unwrap().id
    }

    #[test]
    fn restore_refuses_traversal_absolute_and_symlinked_parents() {
        let dir = tempfile::tempdir().unwrap();
        let store = hubkeep_store::open(
            &format!("file://{}/vault", dir.path().display()),
            &Default::default(),
        )
        .unwrap();
        let vault = Vault::create(store).unwrap().vault;
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let mut link = entry(b"link", KIND_SYMLINK);
        link.target = Some(serde_bytes::ByteBuf::from(
            outside.as_os_str().as_bytes().to_vec(),
        ));
        let cases: Vec<(&str, Vec<Entry>)> = vec![
            (
                "dotdot",
                vec![entry(b"ok", KIND_FILE), entry(b"../x", KIND_FILE)],
            ),
            (
                "absolute",
                vec![
                    entry(b"ok", KIND_FILE),
                    entry(outside.join("abs").as_os_str().as_bytes(), KIND_FILE),
                ],
            ),
            (
                "under a symlink",
                vec![link, entry(b"link/file", KIND_FILE)],
            ),
        ];
        for (name, entries) in cases {
            let id = crafted_snapshot(&vault, entries);
            let target = dir
                .path()
                .join(format!("target-{}", name.replace(' ', "-")));
            let err = vault
                .restore_dir(&id, &target, &RestoreOptions::default())
                .unwrap_err();
            assert!(
                matches!(err, VaultError::UnsafeEntry { .. }),
                "{name}: {err}"
            );
            assert!(!target.exists(), "{name}: the target was not even created");
            assert_eq!(
                fs::read_dir(&outside).unwrap().count(),
                0,
                "{name}: nothing written outside"
            );
            assert!(!dir.path().join("x").exists());
        }
    }
}
