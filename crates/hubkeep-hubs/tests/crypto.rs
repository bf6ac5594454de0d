//! Reticulum's blob format: round trips, padding, and vectors computed
//! independently with Python's hashlib and `openssl enc -aes-256-ctr`.

use hubkeep_hubs::{
    decrypt_blob, decrypt_header, encrypt_blob, encrypt_stream, HubsError, STREAM_CHUNK,
};
use sha2::{Digest, Sha256};

const KEY: &str = "3f2a9c0e5b7d41e8a6c2f09b1d4e7a35";
const SKB: &str = "Xq8v2nT4mK9pL1sR7wY3zB6cF0hJ5dG8aE2uI4oP7kN1bV3xM9qW6tZ0yC5rS8jH";

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

#[test]
fn short_file_matches_openssl_vector_including_padding() {
    // python3: aes = sha256(b64(sha256(k + sha256(k + skb)))); openssl enc over
    // MAGIC ‖ 00000005 ‖ "hello" ‖ 7 zero bytes.
    let blob = encrypt_blob(KEY, SKB, b"hello");
    assert_eq!(
        hex::encode(&blob),
        "bb50ed4d28cdf2a224abf04dfc8c73f91798088771e2a766"
    );
}

#[test]
fn empty_upload_is_a_bare_header_matching_openssl() {
    let blob = encrypt_blob(KEY, SKB, b"");
    assert_eq!(hex::encode(&blob), "bb50ed4d28cdf2a224abf048");
}

#[test]
fn multi_chunk_file_matches_openssl_vector() {
    // 1 MiB + 3 bytes: a full chunk, then a 3-byte chunk padded to 12.
    let blob = encrypt_blob(KEY, SKB, &pattern(STREAM_CHUNK + 3));
    assert_eq!(blob.len(), 12 + STREAM_CHUNK + 12);
    assert_eq!(
        hex::encode(Sha256::digest(&blob)),
        "14fc47186885ef8cbd0418696a95b74d5c0e7b92df22104d74467d7ee687f38a"
    );
}

#[test]
fn round_trip_returns_exact_plaintext_for_every_size() {
    for len in [
        0,
        1,
        5,
        11,
        12,
        13,
        4096,
        STREAM_CHUNK - 1,
        STREAM_CHUNK,
        2 * STREAM_CHUNK + 7,
    ] {
        let plain = pattern(len);
        let blob = encrypt_blob(KEY, SKB, &plain);
        assert_eq!(decrypt_header(KEY, SKB, &blob[..12]).unwrap() as usize, len);
        assert_eq!(
            decrypt_blob(KEY, SKB, &blob).unwrap(),
            plain,
            "length {len}"
        );
    }
}

#[test]
fn duplicated_empty_file_is_padded_and_still_decrypts_to_nothing() {
    let blob = encrypt_stream(KEY, SKB, 0, [&b""[..]]);
    assert_eq!(blob.len(), 24, "Reticulum pads the empty chunk to 12 bytes");
    assert_eq!(decrypt_header(KEY, SKB, &blob[..12]).unwrap(), 0);
    assert!(decrypt_blob(KEY, SKB, &blob).unwrap().is_empty());
}

#[test]
fn wrong_secret_key_base_is_refused_by_the_magic() {
    let blob = encrypt_blob(KEY, SKB, b"some scene");
    let err = decrypt_header(KEY, "another hub's secret_key_base", &blob[..12]).unwrap_err();
    assert!(matches!(err, HubsError::WrongKey));
    assert!(matches!(
        decrypt_blob("other key", SKB, &blob),
        Err(HubsError::WrongKey)
    ));
    let message = err.to_string();
    assert!(message.contains("phoenix-key"), "{message}");
    assert!(!message.contains(SKB) && !message.contains(KEY));
}

#[test]
fn truncated_blobs_are_reported_not_panicked_on() {
    let blob = encrypt_blob(KEY, SKB, &pattern(100));
    assert!(matches!(
        decrypt_header(KEY, SKB, &blob[..7]),
        Err(HubsError::BlobTooShort { len: 7 })
    ));
    assert!(matches!(
        decrypt_blob(KEY, SKB, &blob[..60]),
        Err(HubsError::BlobTruncated {
            declared: 100,
            available: 48
        })
    ));
}
