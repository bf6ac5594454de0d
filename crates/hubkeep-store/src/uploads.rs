//! Bounded parallel uploads with a flush barrier.
//!
//! A writer hands over batches (a pack, then its index) and goes on building
//! the next one while [`ObjectStore::parallel_writes`] threads write earlier
//! batches (three for S3, one for a local directory, whose writes are not
//! slowed by latency). Handing over blocks while every thread is busy, so at
//! most that many batches are in memory here. The objects of one batch are written in order, each only after the
//! one before it is durable; [`Uploads::flush`] returns once every batch is
//! durable, or with the first failure, so a caller writes whatever refers to
//! the objects (a manifest) only after it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::{ObjectStore, StoreError};

/// Objects written in this order: `(name, bytes)`.
pub type Batch = Vec<(String, Vec<u8>)>;

/// Upload threads writing batches to one store.
pub struct Uploads {
    location: String,
    queue: Option<SyncSender<Batch>>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Set by the first failure (or a drop): later batches are not written.
    stopped: AtomicBool,
    failure: Mutex<Option<StoreError>>,
}

impl Shared {
    fn fail(&self, e: StoreError) {
        self.failure.lock().expect("failure slot").get_or_insert(e);
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn take_failure(&self) -> Option<StoreError> {
        self.failure.lock().expect("failure slot").take()
    }
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("location", &self.location)
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Uploads {
    /// Starts the store's [`ObjectStore::parallel_writes`] upload threads.
    pub fn start(store: Arc<dyn ObjectStore>) -> Result<Uploads, StoreError> {
        let parallel = store.parallel_writes();
        Self::with_threads(store, parallel)
    }

    /// Starts `parallel` (at least one) upload threads writing to `store`.
    pub fn with_threads(
        store: Arc<dyn ObjectStore>,
        parallel: usize,
    ) -> Result<Uploads, StoreError> {
        let location = store.location();
        // A rendezvous queue: a batch is handed over only to an idle thread.
        let (queue, batches) = mpsc::sync_channel::<Batch>(0);
        let batches = Arc::new(Mutex::new(batches));
        let shared = Arc::new(Shared::default());
        let mut uploads = Uploads {
            location: location.clone(),
            queue: Some(queue),
            threads: Vec::new(),
            shared: shared.clone(),
        };
        for i in 0..parallel.max(1) {
            let (store, batches, shared) = (store.clone(), batches.clone(), shared.clone());
            let thread = std::thread::Builder::new()
                .name(format!("hubkeep-upload-{i}"))
                .spawn(move || loop {
                    let Ok(batch) = batches.lock().expect("batch queue").recv() else {
                        return;
                    };
                    for (name, data) in batch {
                        if shared.stopped.load(Ordering::SeqCst) {
                            break;
                        }
                        if let Err(e) = store.put_vec(&name, data) {
                            shared.fail(e);
                        }
                    }
                })
                .map_err(|e| StoreError::Uploads {
                    location: location.clone(),
                    detail: format!("cannot start an upload thread: {e}"),
                })?;
            uploads.threads.push(thread);
        }
        Ok(uploads)
    }

    /// Hands `batch` to the next idle thread, waiting for one. Fails (and
    /// writes nothing of `batch`) once an earlier batch failed.
    pub fn submit(&self, batch: Batch) -> Result<(), StoreError> {
        if !self.shared.stopped.load(Ordering::SeqCst) {
            let queue = self.queue.as_ref().expect("open until flush");
            if queue.send(batch).is_ok() && !self.shared.stopped.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        Err(self.failure())
    }

    /// Waits until every submitted batch is durable; the first failure if any.
    pub fn flush(mut self) -> Result<(), StoreError> {
        self.join()?;
        match self.shared.take_failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn join(&mut self) -> Result<(), StoreError> {
        drop(self.queue.take());
        let mut panicked = false;
        for thread in self.threads.drain(..) {
            panicked |= thread.join().is_err();
        }
        if panicked {
            return Err(StoreError::Uploads {
                location: self.location.clone(),
                detail: "an upload thread panicked".into(),
            });
        }
        Ok(())
    }

    fn failure(&self) -> StoreError {
        self.shared
            .take_failure()
            .unwrap_or_else(|| StoreError::Uploads {
                location: self.location.clone(),
                detail: "an earlier upload failed".into(),
            })
    }
}

impl Drop for Uploads {
    /// Abandoning the uploads: batches not started are dropped, the ones in
    /// flight finish (each bounded in time), and the threads are joined.
    fn drop(&mut self) {
        if self.queue.is_some() {
            self.shared.stopped.store(true, Ordering::SeqCst);
            let _ = self.join();
        }
    }
}
