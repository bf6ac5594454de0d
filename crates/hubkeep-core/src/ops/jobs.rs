//! Detaching (`--no-wait`): the service layer names the job and its log;
//! the front door only starts the worker that runs it under that id.

use crate::error::Result;
use crate::states::JobState;
use crate::Hubkeep;
use serde::Serialize;
use std::fs::File;
use std::path::PathBuf;

/// What a `--no-wait` command prints at once.
#[derive(Debug, Serialize)]
pub struct Detached {
    /// The id the background run's first job will have.
    pub job_id: String,
    /// `CREATED`: the background run has not started it yet.
    pub state: JobState,
    /// Where the background run writes its output.
    pub log: PathBuf,
}

impl Hubkeep {
    /// Name the job a background run will start, and open its private log.
    pub fn detach(&self) -> Result<(Detached, File)> {
        use std::os::unix::fs::OpenOptionsExt;
        let job_id = crate::jobs::new_job_id();
        let log = self.home.logs_dir()?.join(format!("{job_id}.log"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&log)?;
        Ok((
            Detached {
                job_id,
                state: JobState::Created,
                log,
            },
            file,
        ))
    }
}
