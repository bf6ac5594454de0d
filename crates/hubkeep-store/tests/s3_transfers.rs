//! Large and parallel transfers to a real SeaweedFS S3 server, and what an
//! operator sees when the network throttles or the server goes away.

use hubkeep_testkit::noise;
use std::sync::Arc;

use hubkeep_store::testing::{Proxy, SeaweedFs};
use hubkeep_store::{
    open, ObjectStore, StoreError, Uploads, MULTIPART_THRESHOLD, PART_SIZE, RANGE_PIECE,
};

const MIB: usize = 1024 * 1024;

fn server(dir: &std::path::Path, bucket: &str) -> SeaweedFs {
    let weed = SeaweedFs::try_start(dir).expect("SeaweedFS is needed: set HUBKEEP_WEED");
    weed.create_bucket(bucket);
    weed
}

#[test]
fn a_pack_larger_than_several_parts_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let weed = server(dir.path(), "big");
    let store = open("s3://big/vault", &weed.settings()).unwrap();
    // Not a multiple of the part size: the last part is short.
    let pack = noise(4 * PART_SIZE + 12_345, 1);
    assert!(pack.len() >= MULTIPART_THRESHOLD);
    store.put_vec("packs/big", pack.clone()).unwrap();
    assert!(store.get("packs/big").unwrap() == pack, "whole object");
    // A read spanning part boundaries, long enough to be fetched in pieces.
    let (offset, len) = (PART_SIZE - 17, 3 * RANGE_PIECE as usize + 99);
    let range = store
        .get_range("packs/big", offset as u64, len as u64)
        .unwrap();
    assert!(range == pack[offset..offset + len], "ranged read");
    assert!(
        store
            .get_range("packs/big", pack.len() as u64 - 10, 2 * RANGE_PIECE)
            .is_err(),
        "a long range past the end fails"
    );
    let listed = store.list("packs/").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, pack.len() as u64);

    // Replacing a large object with a smaller one through a borrowed slice.
    let smaller = noise(MULTIPART_THRESHOLD + 1, 2);
    store.put("packs/big", &smaller).unwrap();
    assert!(store.get("packs/big").unwrap() == smaller);
}

#[test]
fn many_parallel_uploads_then_a_flush_leave_every_object_complete() {
    let dir = tempfile::tempdir().unwrap();
    let weed = server(dir.path(), "many");
    let store = open("s3://many", &weed.settings()).unwrap();
    let sizes: Vec<usize> = (0..16).map(|i| (i % 5) * 3 * MIB + 1000 + i).collect();
    let uploads = Uploads::with_threads(store.clone(), 4).unwrap();
    for (i, &size) in sizes.iter().enumerate() {
        uploads
            .submit(vec![
                (format!("packs/{i:02}"), noise(size, i as u64)),
                (
                    format!("index/{i:02}"),
                    format!("index of {i}").into_bytes(),
                ),
            ])
            .unwrap();
    }
    uploads.flush().unwrap();
    let packs = store.list("packs/").unwrap();
    assert_eq!(packs.len(), sizes.len());
    for (i, &size) in sizes.iter().enumerate() {
        let name = format!("packs/{i:02}");
        assert!(store.get(&name).unwrap() == noise(size, i as u64), "{name}");
        assert_eq!(
            store.get(&format!("index/{i:02}")).unwrap(),
            format!("index of {i}").into_bytes()
        );
    }
}

#[test]
fn throttled_requests_are_retried_with_backoff_until_they_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let weed = server(dir.path(), "slow");
    let proxy = Proxy::start(weed.s3_port());
    let mut settings = weed.settings();
    settings.endpoint = Some(proxy.endpoint());
    let store = open("s3://slow", &settings).unwrap();

    proxy.throttle_next(3);
    let data = noise(2 * MIB, 3);
    store.put("packs/a", &data).unwrap();
    assert_eq!(proxy.throttled(), 3, "the server said 503 three times");
    // The proxy throttles new connections: a fresh client makes one.
    proxy.throttle_next(2);
    let store = open("s3://slow", &settings).unwrap();
    assert!(store.get("packs/a").unwrap() == data);
    assert_eq!(proxy.throttled(), 5);
}

#[test]
fn a_connection_cut_mid_upload_leaves_no_partial_object_and_names_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let weed = server(dir.path(), "cut");
    let proxy = Proxy::start(weed.s3_port());
    let mut settings = weed.settings();
    settings.endpoint = Some(proxy.endpoint());
    let through_proxy = open("s3://cut", &settings).unwrap();
    let direct = open("s3://cut", &weed.settings()).unwrap();

    let packs: Vec<Vec<u8>> = (0..8).map(|i| noise(9 * MIB + i, i as u64)).collect();
    // Enough for about three of the eight packs: the rest are mid-way or
    // not started when the server vanishes.
    proxy.cut_after(3 * 9 * MIB as u64);
    let uploads = Uploads::start(through_proxy).unwrap();
    let mut submitted = Ok(());
    for (i, pack) in packs.iter().enumerate() {
        submitted = uploads.submit(vec![(format!("packs/{i}"), pack.clone())]);
        if submitted.is_err() {
            break;
        }
    }
    let err = submitted.and(uploads.flush()).unwrap_err();
    assert!(proxy.is_cut());
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{msg}");
    assert!(
        msg.contains(&proxy.endpoint()) && msg.contains("is the server running"),
        "the error names the endpoint and what to check: {msg}"
    );

    // Whatever is visible is whole; what was cut off is not there at all.
    let visible = direct.list("packs/").unwrap();
    assert!(visible.len() < packs.len(), "the cut stopped some uploads");
    for meta in &visible {
        let i: usize = meta.name["packs/".len()..].parse().unwrap();
        assert!(direct.get(&meta.name).unwrap() == packs[i], "{}", meta.name);
    }
    assert!(direct.list_temp().unwrap().is_empty());
}

#[test]
fn a_server_that_stopped_is_an_error_naming_the_endpoint_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let mut weed = server(dir.path(), "gone");
    let store: Arc<dyn ObjectStore> = open("s3://gone", &weed.settings()).unwrap();
    store.put("config", b"{}").unwrap();
    weed.stop();
    for result in [
        store.put_vec("packs/a", noise(MULTIPART_THRESHOLD, 4)),
        store.get_range("packs/b", 0, 3 * RANGE_PIECE).map(drop),
        store.get("config").map(drop),
    ] {
        let err = result.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Unreachable { .. }), "{msg}");
        assert!(msg.contains(&weed.endpoint()), "{msg}");
    }
}
