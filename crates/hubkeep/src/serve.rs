//! `hubkeep serve`: recover what a crashed run left, start the queue and
//! the scheduler, run until SIGTERM or SIGINT, then stop: no new work,
//! the running job cancelled (a hub it took offline comes back online),
//! the queued ones ABORTED, exit 0.

use crate::output;
use hubkeep_core::error::Result;
use hubkeep_core::ops::queue::Queue;
use hubkeep_core::Hubkeep;
use hubkeep_daemon::{Scheduler, Stop};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// Jobs of different stacks run side by side, up to this many.
const WORKERS: usize = 2;

/// Serve the home `home` until a stop signal; `Ok` after a clean stop.
pub fn run(home: &Path, listen: SocketAddr) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    // Installed first: a signal during start-up stops it cleanly too.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let mut hk = Hubkeep::open(home)?;
    let notes: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(output::note);
    hk.notes = notes.clone();
    hk.settings()?.install();
    hk.recover()?;
    // Bound before anything starts: a taken address stops nothing half-way.
    let listener = std::net::TcpListener::bind(listen).map_err(|e| hubkeep_core::Error::invalid(format!("cannot listen on {listen}: {e}; choose another address with --listen")))?;
    let queue = Queue::start_with_notes(home.to_path_buf(), WORKERS, notes.clone())?;
    let stop = Stop::new();
    let scheduler = {
        let (stop, scheduler) = (
            stop.clone(),
            Scheduler::new(home.to_path_buf(), queue.clone(), notes.clone()),
        );
        let notes = notes.clone();
        std::thread::spawn(move || {
            if let Err(e) = scheduler.run(&stop) {
                notes(&format!("scheduler stopped: {e}"));
            }
        })
    };
    let bound = listener.local_addr()?;
    let (http, stop_http) = start_api(home, listener, queue.clone())?;
    log(&hk, &format!("serve: running; the HTTP API on http://{bound}"));
    let signal = signals.forever().next();
    // Stop accepting requests first: nothing new reaches the queue.
    let _ = stop_http.send(());
    let _ = http.join();
    let name = if signal == Some(SIGINT) {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    log(
        &hk,
        &format!("serve: {name}: stopping the scheduler and the queue"),
    );
    stop.stop();
    let _ = scheduler.join();
    queue.shutdown(true);
    // What no job brought back (a panicked worker's hub) comes back now.
    hk.abort_run();
    log(&hk, "serve: stopped");
    Ok(())
}

/// The HTTP API on `listener`, on its own runtime thread, until the sender
/// is used (or dropped).
fn start_api(home: &Path, listener: std::net::TcpListener, queue: Queue) -> Result<(std::thread::JoinHandle<()>, tokio::sync::oneshot::Sender<()>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let home = home.to_path_buf();
    let thread = std::thread::spawn(move || {
        if let Err(e) = runtime.block_on(hubkeep_api::serve(listener, home, queue, async move {
            let _ = stopped.await;
        })) {
            output::note(&format!("serve: the HTTP API stopped: {}", e.message()));
        }
    });
    Ok((thread, stop))
}

fn log(hk: &Hubkeep, line: &str) {
    hk.note(&format!(
        "{} {line}",
        hubkeep_core::now().format("%Y-%m-%dT%H:%M:%SZ")
    ));
}
