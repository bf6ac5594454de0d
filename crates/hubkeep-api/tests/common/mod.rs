//! A throwaway home driven by the `hubkeep` binary, and the API served over
//! it in this process on a free loopback port.
#![allow(dead_code)]

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

/// A throwaway home, initialised, that tokens can be made in.
pub struct Home(hubkeep_testkit::Home);

impl std::ops::Deref for Home {
    type Target = hubkeep_testkit::Home;
    fn deref(&self) -> &hubkeep_testkit::Home {
        &self.0
    }
}

impl Home {
    pub fn new() -> Home {
        let home = Home(hubkeep_testkit::Home::new());
        home.json(&["init"]);
        home
    }

    /// A new token of `role`.
    pub fn token(&self, name: &str, role: &str) -> String {
        self.json(&["token", "create", name, "--role", role])["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The API over a home, until dropped.
pub struct Server {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub http: Client,
}

impl Server {
    pub fn start(home: &Home) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = home.path();
        let queue = hubkeep_core::ops::queue::Queue::start(path.clone(), 2).unwrap();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(hubkeep_api::serve(
                listener,
                path,
                queue.clone(),
                async move {
                    let _ = stopped.await;
                },
            ))
            .unwrap();
            queue.shutdown(true);
        });
        Server {
            base,
            stop: Some(stop),
            thread: Some(thread),
            http: Client::new(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    /// GET `path` with `token`; the status and the JSON body.
    pub fn get_json(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self.get(path).bearer_auth(token).send().unwrap();
        status_json(r)
    }
}

pub fn status_json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
