//! The local-directory backend: plain files, made durable with fsync.
//!
//! A write goes to a temp file (`.tmp-<random>`) in the object's directory, is
//! fsynced, then renamed (or, for create-only writes, hard-linked) to its name,
//! and the directory is fsynced so the new name survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{validate_name, ObjectMeta, ObjectStore, StoreError, TEMP_PREFIX};

/// Objects stored as files under one root directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens (creating when missing) the directory `root`, which must be absolute.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        if !root.is_absolute() {
            return Err(StoreError::InvalidLocation {
                location: format!("file://{}", root.display()),
                reason: "a local vault location needs an absolute path, like file:///srv/vault"
                    .into(),
            });
        }
        fs::create_dir_all(root).map_err(|source| StoreError::Io {
            op: "create the directory for",
            location: format!("file://{}", root.display()),
            name: String::from("(root)"),
            source,
        })?;
        Ok(LocalStore {
            root: root.to_path_buf(),
        })
    }

    fn io_error(&self, op: &'static str, name: &str, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::NotFound && (op == "read" || op == "read a range of") {
            return StoreError::NotFound {
                location: self.location(),
                name: name.to_string(),
            };
        }
        StoreError::Io {
            op,
            location: self.location(),
            name: name.to_string(),
            source,
        }
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        validate_name(name)?;
        Ok(self.root.join(name))
    }

    /// Writes `data` to a fresh, fsynced temp file next to `path` and returns its path.
    fn write_temp(&self, path: &Path, data: &[u8]) -> io::Result<PathBuf> {
        let dir = path.parent().expect("object paths are under the root");
        fs::create_dir_all(dir)?;
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{}",
            hex::encode(rand::random::<[u8; 8]>())
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let written = file.write_all(data).and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        Ok(temp)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl ObjectStore for LocalStore {
    fn location(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let path = self.path_of(name)?;
        let result = self.write_temp(&path, data).and_then(|temp| {
            fs::rename(&temp, &path).inspect_err(|_| {
                let _ = fs::remove_file(&temp);
            })?;
            sync_dir(path.parent().expect("under root"))
        });
        result.map_err(|e| self.io_error("write", name, e))
    }

    fn put_if_absent(&self, name: &str, data: &[u8]) -> Result<bool, StoreError> {
        let path = self.path_of(name)?;
        let result = self.write_temp(&path, data).and_then(|temp| {
            // link() fails with EEXIST instead of replacing: the create-only primitive.
            let linked = fs::hard_link(&temp, &path);
            let _ = fs::remove_file(&temp);
            match linked {
                Ok(()) => sync_dir(path.parent().expect("under root")).map(|()| true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        });
        result.map_err(|e| self.io_error("write", name, e))
    }

    fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(name)?;
        fs::read(&path).map_err(|e| self.io_error("read", name, e))
    }

    fn get_range(&self, name: &str, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(name)?;
        let read = || -> io::Result<Vec<u8>> {
            let mut file = File::open(&path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
            file.read_exact(&mut buf)?;
            Ok(buf)
        };
        read().map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => StoreError::Backend {
                op: "read a range of",
                location: self.location(),
                name: name.to_string(),
                detail: format!("the object is shorter than {offset}+{len} bytes (truncated?)"),
            },
            _ => self.io_error("read a range of", name, e),
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.walk(prefix, false)
    }

    fn list_temp(&self) -> Result<Vec<ObjectMeta>, StoreError> {
        self.walk("", true)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let path = self.path_of(name)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error("delete", name, e)),
        }
    }
}

impl LocalStore {
    /// The objects under `prefix`, or (`temps`) the temp files anywhere.
    fn walk(&self, prefix: &str, temps: bool) -> Result<Vec<ObjectMeta>, StoreError> {
        // Walk only the deepest directory that the prefix names completely.
        let dir_part = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path_of(dir_part)?
        };
        let mut out = Vec::new();
        let mut stack = vec![(start, dir_part.to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_error("list", prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.io_error("list", prefix, e))?;
                let Some(file_name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let temp = file_name.starts_with(TEMP_PREFIX);
                let name = if rel.is_empty() {
                    file_name
                } else {
                    format!("{rel}/{file_name}")
                };
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.io_error("list", prefix, e)),
                };
                if meta.is_dir() {
                    if name.starts_with(prefix) || prefix.starts_with(&format!("{name}/")) {
                        stack.push((entry.path(), name));
                    }
                } else if meta.is_file() && temp == temps && name.starts_with(prefix) {
                    let modified = meta
                        .modified()
                        .map_err(|e| self.io_error("list", prefix, e))?;
                    out.push(ObjectMeta {
                        name,
                        size: meta.len(),
                        modified,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
