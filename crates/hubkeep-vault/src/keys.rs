//! Vault keys as text, and the `keys/…` objects that wrap the master key.
//!
//! A vault has one random 32-byte master key. Each access or recovery key is an
//! independent random 32-byte key printed as `hkv1-` and 16 groups of 4 hex
//! digits; a key file holds the master key sealed under a key derived from it.

use std::fmt;

use crate::crypto::{open_with, random_bytes, seal_with, wrapping_cipher};
use crate::VaultError;

pub(crate) const KEY_MAGIC: &[u8; 8] = b"HKVKEY\x00\x01";
const TEXT_PREFIX: &str = "hkv1-";

/// What a key file is for; recorded in the file, informational only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRole {
    Access = 1,
    Recovery = 2,
}

/// A 256-bit access or recovery key. Debug never shows it.
pub(crate) struct UserKey([u8; 32]);

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserKey(..)")
    }
}

impl UserKey {
    pub fn generate() -> Self {
        UserKey(random_bytes())
    }

    pub fn to_text(&self) -> String {
        let hex = hex::encode(self.0);
        let groups: Vec<&str> = (0..16).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        format!("{TEXT_PREFIX}{}", groups.join("-"))
    }

    /// Parses the text form; whitespace and case are forgiven.
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let invalid = |reason: &str| VaultError::InvalidKeyText {
            reason: reason.to_string(),
        };
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let body = cleaned
            .strip_prefix(TEXT_PREFIX)
            .ok_or_else(|| invalid("it does not start with hkv1-"))?;
        let digits: String = body.chars().filter(|c| *c != '-').collect();
        if digits.len() != 64 {
            return Err(invalid(&format!(
                "it has {} hex digits instead of 64",
                digits.len()
            )));
        }
        let bytes = hex::decode(&digits)
            .map_err(|_| invalid("it contains characters other than hex digits"))?;
        Ok(UserKey(
            bytes.try_into().expect("64 hex digits are 32 bytes"),
        ))
    }

    /// The bytes of a `keys/…` object that lets this key unwrap `master`.
    pub fn wrap(&self, master: &[u8; 32], role: KeyRole, vault_id: &str) -> Vec<u8> {
        let aad = aad(role as u8, vault_id);
        let mut out = KEY_MAGIC.to_vec();
        out.push(role as u8);
        out.extend(seal_with(&wrapping_cipher(&self.0), master.to_vec(), &aad));
        out
    }

    /// The master key inside a key file, or `None` when this key does not open it
    /// (or the file is damaged: the two are indistinguishable by design).
    pub fn unwrap(&self, file: &[u8], vault_id: &str) -> Option<[u8; 32]> {
        let rest = file.strip_prefix(KEY_MAGIC.as_slice())?;
        let (&role, sealed) = rest.split_first()?;
        let master = open_with(&wrapping_cipher(&self.0), sealed, &aad(role, vault_id))?;
        master.try_into().ok()
    }
}

fn aad(role: u8, vault_id: &str) -> Vec<u8> {
    let mut aad = KEY_MAGIC.to_vec();
    aad.push(role);
    aad.extend_from_slice(vault_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_text_round_trips_and_forgives_case_and_spaces() {
        let key = UserKey::generate();
        let text = key.to_text();
        assert!(
            text.starts_with("hkv1-") && text.len() == 5 + 64 + 15,
            "{text}"
        );
        let again = UserKey::parse(&format!(
            "  {}\n",
            text.to_uppercase().replace("HKV1", "hkv1")
        ))
        .unwrap();
        assert_eq!(again.0, key.0);
    }

    #[test]
    fn malformed_key_text_is_refused_without_echoing_it() {
        for bad in [
            "",
            "hkv1-abcd",
            "xyz1-0000",
            &format!("hkv1-{}", "zz".repeat(32)),
        ] {
            let err = UserKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("not a hubkeep vault key"), "{err}");
        }
    }

    #[test]
    fn a_key_file_opens_with_its_key_only() {
        let master = [9u8; 32];
        let key = UserKey::generate();
        let file = key.wrap(&master, KeyRole::Recovery, "vault-a");
        assert_eq!(key.unwrap(&file, "vault-a"), Some(master));
        assert_eq!(key.unwrap(&file, "vault-b"), None, "bound to its vault");
        assert_eq!(UserKey::generate().unwrap(&file, "vault-a"), None);
    }

    proptest! {
        #[test]
        fn unwrapping_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = UserKey([1; 32]).unwrap(&bytes, "v");
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,100}") {
            let _ = UserKey::parse(&text);
        }
    }
}
