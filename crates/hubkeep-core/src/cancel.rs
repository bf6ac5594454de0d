//! Cancelling long work from outside: a front door (a signal handler, a
//! scheduler, an API call) cancels the token, and the operation stops at its
//! next safe point with an `interrupted` error. What a cancelled operation
//! leaves is what an interrupted one leaves: its job ABORTED, a hub it took
//! offline back online, a stack it was creating CREATE_FAILED and cleaned.

use crate::error::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared by the caller that may cancel and the operation that checks.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token nobody has cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Ask every operation holding this token to stop at its next safe point.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A safe point: `Err(interrupted)` once cancelled, naming what stops.
    pub fn check(&self, doing: &str) -> Result<()> {
        if self.is_cancelled() {
            return Err(Error::new(ErrorKind::Interrupted, format!("{doing} was cancelled before it finished; nothing of the unfinished step was committed")));
        }
        Ok(())
    }
}

impl crate::Hubkeep {
    /// An engine's error that came from a cancelled operation (an engine
    /// reports a stopped stream as its own error) is the cancellation.
    pub(crate) fn cancelled_or(&self, e: Error, doing: &str) -> Error {
        match self.cancel.check(doing) {
            Err(cancelled) if e.kind() != ErrorKind::Interrupted => cancelled,
            _ => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_token_stops_every_holder_at_its_next_check() {
        let token = CancelToken::new();
        let held = token.clone();
        assert!(held.check("a backup").is_ok());
        token.cancel();
        let e = held.check("a backup").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Interrupted);
        assert!(e.message().starts_with("a backup was cancelled"), "{e}");
    }
}
