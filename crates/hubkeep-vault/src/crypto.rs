//! Keys and primitives: key derivation, chunk ids, sealed boxes.
//!
//! All derivation is BLAKE3 `derive_key` with fixed context strings; all
//! encryption is XChaCha20-Poly1305 with a random 24-byte nonce. See
//! `docs/vault-format.md` for the exact strings and layouts.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

const CTX_ID_KEY: &str = "hubkeep-vault v1 chunk id key";
const CTX_DATA_KEY: &str = "hubkeep-vault v1 data key";
const CTX_CHUNKER_SEED: &str = "hubkeep-vault v1 chunker seed";
const CTX_WRAP_KEY: &str = "hubkeep-vault v1 key wrapping";

/// The 32-byte keyed BLAKE3 hash of a chunk's plaintext.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkId({})", &self.to_hex()[..16])
    }
}

/// The keys one vault uses, all derived from its random master key.
#[derive(Clone)]
pub(crate) struct VaultKeys {
    id_key: [u8; 32],
    data: XChaCha20Poly1305,
    pub chunker_seed: u64,
}

impl std::fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKeys(..)")
    }
}

impl VaultKeys {
    pub fn from_master(master: &[u8; 32]) -> Self {
        let seed = blake3::derive_key(CTX_CHUNKER_SEED, master);
        VaultKeys {
            id_key: blake3::derive_key(CTX_ID_KEY, master),
            data: XChaCha20Poly1305::new(&blake3::derive_key(CTX_DATA_KEY, master).into()),
            chunker_seed: u64::from_le_bytes(seed[..8].try_into().expect("8 bytes")),
        }
    }

    pub fn chunk_id(&self, plaintext: &[u8]) -> ChunkId {
        ChunkId(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext` (taken by value and encrypted in place).
    pub fn seal(&self, plaintext: Vec<u8>, aad: &[u8]) -> Vec<u8> {
        seal_with(&self.data, plaintext, aad)
    }

    /// Like [`VaultKeys::seal`] for a buffer whose first `NONCE_LEN` bytes are spare.
    pub fn seal_prefixed(&self, buf: Vec<u8>, aad: &[u8]) -> Vec<u8> {
        seal_in_place(&self.data, buf, aad)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        open_with(&self.data, sealed, aad)
    }
}

/// The cipher that wraps the master key for one access or recovery key.
pub(crate) fn wrapping_cipher(user_key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&blake3::derive_key(CTX_WRAP_KEY, user_key).into())
}

pub(crate) fn seal_with(cipher: &XChaCha20Poly1305, plaintext: Vec<u8>, aad: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    buf.resize(NONCE_LEN, 0);
    buf.extend_from_slice(&plaintext);
    seal_in_place(cipher, buf, aad)
}

/// Seals `buf[NONCE_LEN..]` in place: `buf` starts with `NONCE_LEN` spare bytes
/// that receive the nonce, and the tag is appended — no copy of the data.
pub(crate) fn seal_in_place(cipher: &XChaCha20Poly1305, mut buf: Vec<u8>, aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    buf[..NONCE_LEN].copy_from_slice(&nonce);
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), aad, &mut buf[NONCE_LEN..])
        .expect("XChaCha20-Poly1305 encrypts any length below 256 GiB");
    buf.extend_from_slice(&tag);
    buf
}

pub(crate) fn open_with(cipher: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let mut buf = body.to_vec();
    cipher
        .decrypt_in_place(XNonce::from_slice(nonce), aad, &mut buf)
        .ok()?;
    Some(buf)
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_box_opens_only_with_same_aad_and_intact_bytes() {
        let keys = VaultKeys::from_master(&[7; 32]);
        let sealed = keys.seal(b"hello".to_vec(), b"aad");
        assert_eq!(keys.open(&sealed, b"aad").unwrap(), b"hello");
        assert!(keys.open(&sealed, b"other").is_none());
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(keys.open(&flipped, b"aad").is_none());
        assert!(keys.open(&sealed[..20], b"aad").is_none());
    }

    #[test]
    fn chunk_ids_depend_on_the_vault_key() {
        let a = VaultKeys::from_master(&[1; 32]);
        let b = VaultKeys::from_master(&[2; 32]);
        assert_eq!(a.chunk_id(b"x"), a.chunk_id(b"x"));
        assert_ne!(a.chunk_id(b"x"), b.chunk_id(b"x"));
        assert_ne!(a.chunker_seed, b.chunker_seed);
    }
}
