//! Snapshot ids: `YYYYMMDDTHHMMSSZ-xxxxxxxx`, sortable by time, unique by chance.

use chrono::{DateTime, Utc};

use crate::VaultError;

pub(crate) fn generate(now: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        now.format("%Y%m%dT%H%M%SZ"),
        hex::encode(crate::crypto::random_bytes::<4>())
    )
}

pub(crate) fn validate(id: &str) -> Result<(), VaultError> {
    let b = id.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 25
        && digits(0..8)
        && b[8] == b'T'
        && digits(9..15)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidSnapshotId { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_validate_and_sort_by_time() {
        let a = generate("2026-11-24T00:35:01Z".parse().unwrap());
        let b = generate("2026-11-24T00:35:02Z".parse().unwrap());
        validate(&a).unwrap();
        assert!(a.starts_with("20261124T003501Z-") && a < b);
        for bad in [
            "",
            "../x",
            "20261124T003501Z-9F3A1C2E",
            "20261124T003501Z-9f3a1c2",
            "x0261124T003501Z-9f3a1c2e",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
