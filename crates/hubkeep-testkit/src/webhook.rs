//! A local HTTP receiver standing in for a webhook or ping service: it
//! records every request and answers each connection as its script says.

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::Receiver as Signal;
use std::sync::{Arc, Mutex};

/// How the receiver answers one connection.
pub enum Reply {
    /// Answer with this status.
    Status(u16),
    /// Read the request, keep the connection open without answering until
    /// the signal, then close it.
    HoldUntil(Signal<()>),
    /// Read the request and close the connection without answering.
    Close,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method (`POST`, `GET`, …).
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body as sent.
    pub body: Vec<u8>,
}

impl Request {
    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A receiver on a free loopback port, serving until the process ends.
pub struct Receiver {
    /// Where it listens: `http://127.0.0.1:PORT` plus the path it was started at.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    /// Starts a receiver answering connections by `script` in order, then 200.
    pub fn start(script: Vec<Reply>) -> Receiver {
        Receiver::at("", script)
    }

    /// [`Receiver::start`], its `url` ending in `path` (e.g. `/hook`).
    pub fn at(path: &str, script: Vec<Reply>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let mut script: VecDeque<Reply> = script.into();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let reply = script.pop_front().unwrap_or(Reply::Status(200));
                serve(stream, reply, &seen);
            }
        });
        Receiver { url, requests }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The `event` field of each JSON body received so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A loopback URL (path `/hook`) where nothing listens.
pub fn nowhere() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn serve(stream: TcpStream, reply: Reply, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    seen.lock().unwrap().push(Request {
        method,
        path,
        headers,
        body,
    });
    let mut stream = reader.into_inner();
    match reply {
        Reply::Status(code) => {
            let answer =
                format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes());
        }
        Reply::HoldUntil(signal) => {
            let _ = signal.recv();
        }
        Reply::Close => {}
    }
}
