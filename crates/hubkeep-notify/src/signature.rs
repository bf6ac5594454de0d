//! Webhook signatures: `X-Hubkeep-Signature: sha256=<hex HMAC-SHA256 of the body>`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Hubkeep-Signature";

/// A webhook's shared secret. It never prints: `Debug` shows `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A secret from its bytes (as the operator gave it with `--secret`).
    pub fn new(bytes: impl Into<Vec<u8>>) -> WebhookSecret {
        WebhookSecret(bytes.into())
    }

    /// The signature header value for `body`: `sha256=<hex HMAC-SHA256>`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether `header` is this secret's signature of `body`, compared in
    /// constant time (for receivers, and for `notify test`).
    pub fn verify(&self, body: &[u8], header: &str) -> bool {
        let Some(tag) = header
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
        else {
            return false;
        };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}
