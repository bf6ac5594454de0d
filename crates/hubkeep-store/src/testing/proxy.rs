//! A TCP forwarder in front of a test server that can make the network fail
//! the way it does in production: throttling answers (503 SlowDown) and a
//! server that vanishes in the middle of an upload.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Forwards `127.0.0.1:<port>` to a server's port; stops on drop.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct State {
    target: u16,
    /// Connections still to be answered with 503 instead of forwarded.
    throttle: AtomicUsize,
    throttled: AtomicUsize,
    /// Request bytes still forwarded before the cut, when one is set.
    budget: Mutex<Option<u64>>,
    /// After the cut every connection is closed and new ones are refused.
    cut: AtomicBool,
    stop: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl State {
    fn cut_now(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("open connections").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Takes up to `n` bytes from the budget; fewer means the cut came.
    fn spend(&self, n: usize) -> usize {
        let mut budget = self.budget.lock().expect("budget");
        match budget.as_mut() {
            None => n,
            Some(left) => {
                let take = (*left).min(n as u64);
                *left -= take;
                take as usize
            }
        }
    }
}

impl Proxy {
    /// Starts forwarding a fresh loopback port to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking proxy listener");
        let state = Arc::new(State {
            target,
            ..State::default()
        });
        let accept = {
            let state = state.clone();
            std::thread::spawn(move || {
                // Polling lets the loop see a cut and drop the listener, so
                // later connections are refused like those to a dead server.
                while !state.cut.load(Ordering::SeqCst) && !state.stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let state = state.clone();
                            std::thread::spawn(move || serve(&state, client));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Proxy {
            port,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers the next `n` connections' first request with `503 SlowDown`.
    pub fn throttle_next(&self, n: usize) {
        self.state.throttle.store(n, Ordering::SeqCst);
    }

    /// How many requests were answered with 503 so far.
    pub fn throttled(&self) -> usize {
        self.state.throttled.load(Ordering::SeqCst)
    }

    /// Forwards `bytes` more request bytes, then closes every connection in
    /// the middle of whatever it carries and refuses new ones.
    pub fn cut_after(&self, bytes: u64) {
        *self.state.budget.lock().expect("budget") = Some(bytes);
    }

    /// True once the cut happened.
    pub fn is_cut(&self) -> bool {
        self.state.cut.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.cut_now();
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

fn serve(state: &State, mut client: TcpStream) {
    let _ = client.set_nonblocking(false);
    let throttle = state
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if throttle {
        if read_request(&mut client).is_ok() {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let _ = write!(
                client,
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            state.throttled.fetch_add(1, Ordering::SeqCst);
        }
        return;
    }
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", state.target)) else {
        return;
    };
    {
        let mut open = state.open.lock().expect("open connections");
        if state.cut.load(Ordering::SeqCst) {
            return;
        }
        for s in [&client, &server] {
            if let Ok(s) = s.try_clone() {
                open.push(s);
            }
        }
    }
    let answers = match (server.try_clone(), client.try_clone()) {
        (Ok(mut from), Ok(mut to)) => std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        }),
        _ => return,
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let allowed = state.spend(n);
        if server.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if allowed < n {
            state.cut_now();
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
    let _ = answers.join();
}

/// Reads one request's head and its `Content-Length` body.
fn read_request(client: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut client.take(length), &mut std::io::sink())?;
    Ok(())
}
