//! One operation at a time per stack: an exclusive `flock` on
//! `locks/<stack>.lock`. The kernel drops it when the holder dies, so a
//! killed run never leaves a stack locked; a second run waits, saying so.

use crate::error::{Error, ErrorKind, Result};
use crate::Hubkeep;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;

/// A held stack lock; dropping it releases the stack.
pub struct StackLock {
    _file: File,
}

impl Hubkeep {
    /// Take the stack's lock for `operation`, waiting for another run.
    pub fn lock_stack(&self, stack: &str, operation: &str) -> Result<StackLock> {
        let path = self.home.lock_path(stack);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            self.note(&format!(
                "stack {stack} is busy ({}); waiting for it to finish before {operation}…",
                if holder.is_empty() { "another hubkeep run" } else { holder }
            ));
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(Error::new(ErrorKind::Locked, format!("cannot lock stack {stack}: {}", std::io::Error::last_os_error())));
            }
        }
        mark_holder(&mut file, operation)?;
        Ok(StackLock { _file: file })
    }

    /// The stack's lock if no run holds it now, else `None` (no waiting):
    /// a free lock on a stack still being created means its creator died.
    pub fn try_lock_stack(&self, stack: &str, operation: &str) -> Result<Option<StackLock>> {
        let path = self.home.lock_path(stack);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Ok(None);
        }
        mark_holder(&mut file, operation)?;
        Ok(Some(StackLock { _file: file }))
    }
}

/// Say in the lock file who holds it, for the message of a waiting run.
fn mark_holder(file: &mut File, operation: &str) -> Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{operation} by pid {}", std::process::id())?;
    file.flush()?;
    Ok(())
}
