//! Chunks as stored in packs: compressed when that helps, then sealed with the
//! chunk id as associated data, and checked against that id when read back.

use crate::crypto::{ChunkId, VaultKeys, NONCE_LEN, TAG_LEN};

const RAW: u8 = 0;
const ZSTD: u8 = 1;
/// zstd level 1: on this project's 2-core target it is ~1.6x faster than level 3
/// on dump text for a few percent more bytes (see docs/vault-format.md).
pub(crate) const ZSTD_LEVEL: i32 = 1;
/// No chunk decodes to more than this (fastcdc's largest maximum).
pub(crate) const MAX_PLAINTEXT: usize = 16 * 1024 * 1024;

thread_local! {
    /// One compression context per worker thread: making one per chunk costs
    /// an allocation of its whole workspace every time.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

thread_local! {
    /// Likewise one decompression context per reading thread.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses (when it shrinks) and seals one chunk.
pub(crate) fn encode(keys: &VaultKeys, id: &ChunkId, data: &[u8]) -> Vec<u8> {
    // Layout while building: [nonce space][flag][body]; sealed in place.
    let mut buf = Vec::with_capacity(NONCE_LEN + 1 + data.len() + TAG_LEN);
    buf.resize(NONCE_LEN, 0);
    buf.push(ZSTD);
    // Give zstd room for 15/16 of the input only: if it cannot gain 1/16
    // it fails fast and the chunk is stored raw.
    let limit = data.len() - data.len() / 16;
    buf.resize(NONCE_LEN + 1 + limit, 0);
    let compressed = COMPRESSOR
        .with_borrow_mut(|c| {
            if c.is_none() {
                *c = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?);
            }
            c.as_mut()
                .expect("just made")
                .compress_to_buffer(data, &mut buf[NONCE_LEN + 1..])
        })
        .ok()
        .filter(|&n| n > 0);
    match compressed {
        Some(n) => buf.truncate(NONCE_LEN + 1 + n),
        None => {
            buf.truncate(NONCE_LEN);
            buf.push(RAW);
            buf.extend_from_slice(data);
        }
    }
    keys.seal_prefixed(buf, &id.0)
}

/// Opens, decompresses and checks one sealed chunk; the error says what is wrong.
pub(crate) fn decode(keys: &VaultKeys, id: &ChunkId, sealed: &[u8]) -> Result<Vec<u8>, String> {
    let body = keys
        .open(sealed, &id.0)
        .ok_or("its encryption tag does not match (bytes changed or wrong chunk)")?;
    let (&flag, payload) = body.split_first().ok_or("it is empty")?;
    let data = match flag {
        RAW => payload.to_vec(),
        ZSTD => decompress(payload)?,
        other => return Err(format!("it has unknown compression {other}")),
    };
    if keys.chunk_id(&data) != *id {
        return Err("its content does not match its id".into());
    }
    Ok(data)
}

/// Decompresses one zstd frame into a buffer of the size its header states
/// (this crate's writer always records it), or of the 16 MiB limit when the
/// header does not say: the buffer is the chunk's to keep, so sizing it to
/// the limit would reserve 16 MiB for every small chunk read. A frame whose
/// content differs from its stated size fails to decode (RFC 8878).
fn decompress(payload: &[u8]) -> Result<Vec<u8>, String> {
    let room = match zstd::zstd_safe::get_frame_content_size(payload) {
        Ok(Some(n)) if n > MAX_PLAINTEXT as u64 => {
            return Err(format!(
                "its zstd frame claims {n} bytes, over the {MAX_PLAINTEXT}-byte chunk limit"
            ))
        }
        Ok(Some(n)) => n as usize,
        _ => MAX_PLAINTEXT,
    };
    DECOMPRESSOR
        .with_borrow_mut(|d| {
            if d.is_none() {
                *d = Some(zstd::bulk::Decompressor::new()?);
            }
            d.as_mut().expect("just made").decompress(payload, room)
        })
        .map_err(|e| format!("it does not decompress ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> VaultKeys {
        VaultKeys::from_master(&[3; 32])
    }

    #[test]
    fn text_is_compressed_and_noise_is_stored_raw() {
        let k = keys();
        let text = b"INSERT INTO t VALUES (1, 'hello');\n".repeat(1000);
        let sealed = encode(&k, &k.chunk_id(&text), &text);
        assert!(sealed.len() < text.len() / 5);
        let noise: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let noise_id = k.chunk_id(&noise);
        let sealed_noise = encode(&k, &noise_id, &noise);
        assert_eq!(decode(&k, &noise_id, &sealed_noise).unwrap(), noise);
        assert_eq!(decode(&k, &k.chunk_id(&text), &sealed).unwrap(), text);
    }

    #[test]
    fn a_decoded_chunk_holds_its_own_size_not_the_chunk_limit() {
        let k = keys();
        let text = b"{\"name\": \"avatar\"}\n".repeat(50);
        let id = k.chunk_id(&text);
        let decoded = decode(&k, &id, &encode(&k, &id, &text)).unwrap();
        assert_eq!(decoded, text);
        assert_eq!(decoded.capacity(), text.len());
    }

    #[test]
    fn a_frame_claiming_more_than_the_limit_is_refused_by_its_claim() {
        let k = keys();
        let big = vec![7u8; MAX_PLAINTEXT + 1];
        let frame = zstd::bulk::compress(&big, 1).unwrap();
        let mut body = vec![ZSTD];
        body.extend_from_slice(&frame);
        let id = k.chunk_id(&big);
        let sealed = k.seal_prefixed([vec![0; NONCE_LEN], body].concat(), &id.0);
        let err = decode(&k, &id, &sealed).unwrap_err();
        assert!(err.contains("claims 16777217 bytes"), "{err}");
    }

    #[test]
    fn empty_chunk_round_trips() {
        let k = keys();
        let id = k.chunk_id(b"");
        assert_eq!(decode(&k, &id, &encode(&k, &id, b"")).unwrap(), b"");
    }

    #[test]
    fn a_blob_under_another_id_is_rejected() {
        let k = keys();
        let sealed = encode(&k, &k.chunk_id(b"a"), b"a");
        assert!(decode(&k, &k.chunk_id(b"b"), &sealed).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let k = keys();
            let _ = decode(&k, &ChunkId([0; 32]), &bytes);
        }
    }
}
