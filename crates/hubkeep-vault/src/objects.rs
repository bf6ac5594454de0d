//! Encrypted whole objects (indexes, manifests): `magic ‖ sealed(plaintext)`
//! with `magic ‖ name` as associated data, so an object cannot be passed off
//! under another name.

use crate::crypto::VaultKeys;

pub(crate) fn seal(keys: &VaultKeys, magic: &[u8; 8], name: &str, plaintext: Vec<u8>) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend(keys.seal(plaintext, &aad(magic, name)));
    out
}

pub(crate) fn open(
    keys: &VaultKeys,
    magic: &[u8; 8],
    name: &str,
    bytes: &[u8],
) -> Result<Vec<u8>, String> {
    let sealed = bytes
        .strip_prefix(magic.as_slice())
        .ok_or("it does not start with the expected magic bytes")?;
    keys.open(sealed, &aad(magic, name))
        .ok_or_else(|| "its encryption tag does not match (truncated or changed)".into())
}

fn aad(magic: &[u8; 8], name: &str) -> Vec<u8> {
    let mut aad = magic.to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}
