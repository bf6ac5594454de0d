//! Reticulum's file-store layout and meta files, byte for byte.

use std::path::Path;

use hubkeep_hubs::{file_paths, Meta, StorageArea};

#[test]
fn files_live_under_two_levels_of_uuid_prefix_directories() {
    let paths = file_paths(
        Path::new("/storage"),
        StorageArea::Owned,
        "6e1f6f2a-93a4-4c2e-8f27-1c1f4b0b9d11",
    );
    assert_eq!(paths.dir, Path::new("/storage/owned/6e/1f"));
    assert_eq!(
        paths.blob,
        Path::new("/storage/owned/6e/1f/6e1f6f2a-93a4-4c2e-8f27-1c1f4b0b9d11.blob")
    );
    assert_eq!(
        paths.meta,
        Path::new("/storage/owned/6e/1f/6e1f6f2a-93a4-4c2e-8f27-1c1f4b0b9d11.meta.json")
    );
    let cached = file_paths(Path::new("/storage"), StorageArea::Cached, "abcd");
    assert_eq!(cached.blob, Path::new("/storage/cached/ab/cd/abcd.blob"));
}

#[test]
fn meta_json_is_written_like_poison_and_read_back_leniently() {
    let meta = Meta {
        content_length: 5,
        content_type: "text/plain".into(),
        promotion_token: None,
    };
    assert_eq!(
        meta.to_json(),
        r#"{"content_length":5,"content_type":"text/plain","promotion_token":null}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.meta.json");
    // Older Reticulum versions wrote no promotion_token; extra keys are ignored.
    std::fs::write(
        &path,
        r#"{"content_type":"image/png","content_length":42,"extra":1}"#,
    )
    .unwrap();
    let read = Meta::read(&path).unwrap();
    assert_eq!((read.content_length, read.promotion_token), (42, None));
}
