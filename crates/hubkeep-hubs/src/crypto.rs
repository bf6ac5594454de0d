//! Reticulum's at-rest encryption of file-store blobs (`lib/ret/crypto.ex`,
//! `lib/ret/storage.ex`), byte for byte.
//!
//! With `k` a file's key string (`owned_files.key`, `cached_files.file_key`)
//! and `skb` the Phoenix `secret_key_base` (hubkeep's `phoenix-key`):
//!
//! ```text
//! h       = base64(SHA256(k ‖ SHA256(k ‖ skb)))      Ret.Crypto.hash/2
//! aes_key = SHA256(h)                               :crypto.hash(:sha256, key)
//! blob    = AES-256-CTR(aes_key, iv = 0¹²⁸,
//!             MAGIC ‖ u32be(length) ‖ chunk₁ ‖ chunk₂ ‖ …)
//! ```
//!
//! Reticulum streams the plaintext in 1 MiB chunks and zero-pads every stream
//! element shorter than 12 bytes before encrypting it, so a blob is at least
//! `12 + length` bytes and sometimes longer: never judge a blob by its size.

use aes::cipher::{KeyIvInit, StreamCipher};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::HubsError;

/// The 8 magic bytes that open every decrypted blob (`@header_bytes`).
pub const MAGIC: [u8; 8] = [0xB8, 0xA5, 0xD3, 0x3A, 0x0B, 0x05, 0xC8, 0x9B];
/// Magic plus the big-endian `u32` plaintext length.
pub const HEADER_LEN: usize = 12;
/// Reticulum reads uploads in chunks of this size (`Ret.Storage` `@chunk_size`).
pub const STREAM_CHUNK: usize = 1024 * 1024;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// The AES-256 key for one file: `SHA256(base64(SHA256(k ‖ SHA256(k ‖ skb))))`.
fn aes_key(file_key: &str, secret_key_base: &str) -> [u8; 32] {
    let inner = Sha256::new()
        .chain_update(file_key.as_bytes())
        .chain_update(secret_key_base.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(file_key.as_bytes())
        .chain_update(inner)
        .finalize();
    let hashed = base64::engine::general_purpose::STANDARD.encode(outer);
    Sha256::digest(hashed.as_bytes()).into()
}

fn cipher(file_key: &str, secret_key_base: &str) -> Aes256Ctr {
    Aes256Ctr::new(
        &aes_key(file_key, secret_key_base).into(),
        &[0u8; 16].into(),
    )
}

/// Encrypts a file the way `Ret.Storage.store/5` does when given a path: the
/// plaintext is read in 1 MiB chunks, so only a final chunk shorter than 12
/// bytes is padded, and an empty file yields a bare 12-byte header.
///
/// The header's length is Erlang's `<<size::size(32)>>`: the length modulo 2³².
pub fn encrypt_blob(file_key: &str, secret_key_base: &str, plaintext: &[u8]) -> Vec<u8> {
    encrypt_stream(
        file_key,
        secret_key_base,
        plaintext.len() as u64,
        plaintext.chunks(STREAM_CHUNK),
    )
}

/// Encrypts an arbitrary stream of chunks the way `Ret.Storage.store_stream/6`
/// does. Reticulum reaches this with other chunkings when it re-stores a
/// decrypted stream (`Storage.duplicate/2`): duplicating an empty file passes
/// one empty chunk, which is padded to 12 zero bytes (a 24-byte blob).
pub fn encrypt_stream<'a>(
    file_key: &str,
    secret_key_base: &str,
    content_length: u64,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut blob = Vec::with_capacity(HEADER_LEN + content_length as usize);
    blob.extend_from_slice(&MAGIC);
    blob.extend_from_slice(&(content_length as u32).to_be_bytes());
    for chunk in chunks {
        blob.extend_from_slice(chunk);
        if chunk.len() < HEADER_LEN {
            blob.resize(blob.len() + HEADER_LEN - chunk.len(), 0);
        }
    }
    cipher(file_key, secret_key_base).apply_keystream(&mut blob);
    blob
}

/// Decrypts a blob's first 12 bytes and returns the plaintext length they
/// declare, or [`HubsError::WrongKey`] when the magic does not appear (the
/// key, the `secret_key_base` or the blob belong to different hubs).
pub fn decrypt_header(
    file_key: &str,
    secret_key_base: &str,
    first_12_bytes: &[u8],
) -> Result<u32, HubsError> {
    if first_12_bytes.len() < HEADER_LEN {
        return Err(HubsError::BlobTooShort {
            len: first_12_bytes.len(),
        });
    }
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&first_12_bytes[..HEADER_LEN]);
    cipher(file_key, secret_key_base).apply_keystream(&mut header);
    if header[..8] != MAGIC {
        return Err(HubsError::WrongKey);
    }
    Ok(u32::from_be_bytes([
        header[8], header[9], header[10], header[11],
    ]))
}

/// Decrypts a whole blob and returns exactly the plaintext, without padding.
pub fn decrypt_blob(
    file_key: &str,
    secret_key_base: &str,
    blob: &[u8],
) -> Result<Vec<u8>, HubsError> {
    let length = decrypt_header(file_key, secret_key_base, blob)? as usize;
    let end = HEADER_LEN + length;
    if blob.len() < end {
        return Err(HubsError::BlobTruncated {
            declared: length as u64,
            available: (blob.len() - HEADER_LEN) as u64,
        });
    }
    let mut plain = blob[..end].to_vec();
    cipher(file_key, secret_key_base).apply_keystream(&mut plain);
    plain.drain(..HEADER_LEN);
    Ok(plain)
}
