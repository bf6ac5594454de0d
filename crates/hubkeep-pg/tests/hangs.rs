//! Servers that accept connections and never answer fail every call in
//! bounded time, with an error naming the server and the timeout.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::MemStore;
use hubkeep_pg::{
    create_snapshot, set_default_timeouts, ConnInfo, PgError, SnapshotOptions, Timeouts,
};

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_millis(700),
    idle: Duration::from_secs(90),
};

/// A local server that accepts connections and never says a word.
fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn silent_conn(port: u16) -> ConnInfo {
    ConnInfo::parse_url(&format!("postgres://u:pw@127.0.0.1:{port}/db")).unwrap()
}

fn assert_names_server_and_timeout(e: &PgError, port: u16) {
    let s = e.to_string();
    assert!(matches!(e, PgError::ConnectTimeout { .. }), "{e:?}");
    assert!(s.contains(&format!("127.0.0.1:{port}")), "{s}");
    assert!(s.contains("700ms"), "{s}");
    assert!(!s.contains("pw"), "{s}");
}

#[test]
fn connect_to_a_server_that_accepts_and_never_answers_fails_naming_it_and_the_timeout() {
    let (listener, port) = silent_server();
    let Err(e) = silent_conn(port).connect_with(TIMEOUTS) else {
        panic!("a server that never answers was taken for a database");
    };
    assert_names_server_and_timeout(&e, port);
    // The connection was really made and then abandoned: the listener saw it.
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_ok(),
        "no connection reached the server"
    );
}

#[test]
fn snapshot_of_a_server_that_never_answers_fails_naming_it_and_the_timeout() {
    let (_listener, port) = silent_server();
    // Process-wide, which is why these tests have a binary of their own.
    set_default_timeouts(TIMEOUTS);
    let mut store = MemStore::default();
    let e =
        create_snapshot(&silent_conn(port), &mut store, &SnapshotOptions::default()).unwrap_err();
    assert_names_server_and_timeout(&e, port);
    assert!(store.names().is_empty());
}
