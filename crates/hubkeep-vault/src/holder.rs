//! Telling whether a process that recorded itself (in a lease, in a restore
//! journal) is gone: on the same kernel instance (boot id) and in the same
//! pid namespace a pid names one process, checked with `kill(pid, 0)` and
//! its start time (so a reused pid is not taken for it). Elsewhere nothing
//! can be told, and callers fall back on expiry.

/// Who this process is, as leases record it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity {
    pub host: String,
    pub boot_id: String,
    pub pid_ns: String,
}

pub(crate) fn identity() -> Identity {
    let mut host = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates or truncates.
    let host = if unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) } == 0 {
        let end = host.iter().position(|b| *b == 0).unwrap_or(host.len());
        String::from_utf8_lossy(&host[..end]).into_owned()
    } else {
        String::new()
    };
    Identity {
        host,
        boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        pid_ns: std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    }
}

/// A process's start time in clock ticks after boot (field 22 of
/// `/proc/<pid>/stat`), or `None` when there is no such process.
pub(crate) fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// True when the process `pid` that started at `start` ticks, recorded by a
/// process of kernel `boot_id` and pid namespace `pid_ns`, is known to be gone.
pub(crate) fn is_dead(me: &Identity, boot_id: &str, pid_ns: &str, pid: u32, start: u64) -> bool {
    if boot_id.is_empty() || boot_id != me.boot_id || pid_ns != me.pid_ns {
        return false;
    }
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !exists || start_ticks(pid).is_some_and(|t| t != start)
}
