//! The secret store: database secrets (with ARN-like ids) and parameters
//! (`/keymaster/<stack>/…`, `/ita/<stack>/…`, hubkeep's own `/hubkeep/…`).
//! Values are sealed with XChaCha20-Poly1305 under the home's secret-store key
//! (a 0600 file) before they reach the catalog; metadata stays readable so
//! `secret list` never needs to open a value. Secrets outlive stacks, and a
//! deleted secret is only scheduled for deletion, with a recovery window.

use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A database secret (with an ARN) or a parameter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A database secret.
    Secret,
    /// A parameter.
    Param,
}

/// What anyone may see about a secret: never its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretMeta {
    /// Its name.
    pub name: String,
    /// Its ARN (database secrets only).
    pub arn: Option<String>,
    /// Secret or parameter.
    pub kind: SecretKind,
    /// The stack it belongs to.
    pub stack: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its value last changed.
    pub updated_at: DateTime<Utc>,
    /// Set while a deletion is scheduled: the secret is gone after this time.
    pub deletion_date: Option<DateTime<Utc>>,
}

/// The secret store of a home.
pub struct SecretStore<'a> {
    catalog: &'a Catalog,
    cipher: XChaCha20Poly1305,
}

impl<'a> SecretStore<'a> {
    /// The store over `catalog`, sealed with `key`.
    pub fn new(catalog: &'a Catalog, key: &[u8; 32]) -> SecretStore<'a> {
        SecretStore { catalog, cipher: XChaCha20Poly1305::new(key.into()) }
    }

    fn seal(&self, name: &str, value: &str) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: value.as_bytes(), aad: name.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    fn open_sealed(&self, name: &str, sealed: &[u8]) -> Result<String> {
        let bad = || {
            Error::new(
                ErrorKind::SecretStore,
                format!("the value of secret {name} cannot be decrypted: the home's secret-store key (keys/secret-store.key) does not match the catalog"),
            )
        };
        if sealed.len() < 24 {
            return Err(bad());
        }
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(&sealed[..24]), Payload { msg: &sealed[24..], aad: name.as_bytes() })
            .map_err(|_| bad())?;
        String::from_utf8(pt).map_err(|_| bad())
    }

    /// Store a value; an existing secret of that name keeps its ARN.
    pub fn put(&self, name: &str, kind: SecretKind, arn: Option<String>, stack: Option<&str>, value: &str) -> Result<SecretMeta> {
        self.purge_expired()?;
        let now = crate::now();
        let meta = match self.meta(name)? {
            Some(mut m) => {
                m.updated_at = now;
                m.deletion_date = None;
                m
            }
            None => SecretMeta {
                name: name.to_string(),
                arn,
                kind,
                stack: stack.map(str::to_string),
                created_at: now,
                updated_at: now,
                deletion_date: None,
            },
        };
        self.catalog.put_secret_row(name, &serde_json::to_string(&meta)?, &self.seal(name, value))?;
        Ok(meta)
    }

    /// The metadata of `name`, if it exists.
    pub fn meta(&self, name: &str) -> Result<Option<SecretMeta>> {
        match self.catalog.secret_row(name)? {
            Some((doc, _)) => Ok(Some(serde_json::from_str(&doc)?)),
            None => Ok(None),
        }
    }

    /// Find by name or ARN.
    pub fn find(&self, name_or_arn: &str) -> Result<Option<SecretMeta>> {
        self.purge_expired()?;
        if let Some(m) = self.meta(name_or_arn)? {
            return Ok(Some(m));
        }
        Ok(self.list()?.into_iter().find(|m| m.arn.as_deref() == Some(name_or_arn)))
    }

    /// The value of a live secret; a secret scheduled for deletion is refused
    /// with the way to get it back.
    pub fn get(&self, name_or_arn: &str) -> Result<(SecretMeta, String)> {
        let meta = self
            .find(name_or_arn)?
            .ok_or_else(|| Error::new(ErrorKind::SecretNotFound, format!("secret {name_or_arn} does not exist in the secret store")))?;
        if let Some(when) = meta.deletion_date {
            return Err(Error::new(
                ErrorKind::SecretScheduledForDeletion,
                format!(
                    "secret {} is scheduled for deletion on {}; run `hubkeep secret restore '{}'` to recover it",
                    meta.name,
                    when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    meta.name
                ),
            ));
        }
        let (_, sealed) = self.catalog.secret_row(&meta.name)?.ok_or_else(|| Error::not_found(&meta.name))?;
        let value = self.open_sealed(&meta.name, &sealed)?;
        Ok((meta, value))
    }

    /// The value if the secret exists and is live.
    pub fn value(&self, name: &str) -> Result<Option<String>> {
        match self.find(name)? {
            Some(m) if m.deletion_date.is_none() => Ok(Some(self.get(name)?.1)),
            _ => Ok(None),
        }
    }

    /// Every secret and parameter, oldest first.
    pub fn list(&self) -> Result<Vec<SecretMeta>> {
        self.catalog.secret_docs()?.iter().map(|d| serde_json::from_str(d).map_err(Error::from)).collect()
    }

    /// Those whose name starts with `prefix`.
    pub fn list_prefix(&self, prefix: &str) -> Result<Vec<SecretMeta>> {
        Ok(self.list()?.into_iter().filter(|m| m.name.starts_with(prefix)).collect())
    }

    /// Schedule deletion after `days`; the value stays recoverable until then.
    pub fn schedule_delete(&self, name_or_arn: &str, days: i64) -> Result<SecretMeta> {
        let mut meta = self
            .find(name_or_arn)?
            .ok_or_else(|| Error::new(ErrorKind::SecretNotFound, format!("secret {name_or_arn} does not exist in the secret store")))?;
        let (_, sealed) = self.catalog.secret_row(&meta.name)?.ok_or_else(|| Error::not_found(&meta.name))?;
        meta.deletion_date = Some(crate::now() + Duration::days(days));
        self.catalog.put_secret_row(&meta.name, &serde_json::to_string(&meta)?, &sealed)?;
        Ok(meta)
    }

    /// Undo a scheduled deletion.
    pub fn cancel_delete(&self, name_or_arn: &str) -> Result<SecretMeta> {
        let mut meta = self
            .find(name_or_arn)?
            .ok_or_else(|| Error::new(ErrorKind::SecretNotFound, format!("secret {name_or_arn} does not exist (its recovery window may have passed)")))?;
        let (_, sealed) = self.catalog.secret_row(&meta.name)?.ok_or_else(|| Error::not_found(&meta.name))?;
        meta.deletion_date = None;
        self.catalog.put_secret_row(&meta.name, &serde_json::to_string(&meta)?, &sealed)?;
        Ok(meta)
    }

    /// Move a secret to a new name, keeping its ARN and value.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut meta = self.meta(from)?.ok_or_else(|| Error::not_found(from))?;
        let (_, sealed) = self.catalog.secret_row(from)?.ok_or_else(|| Error::not_found(from))?;
        let value = self.open_sealed(from, &sealed)?;
        meta.name = to.to_string();
        self.catalog.put_secret_row(to, &serde_json::to_string(&meta)?, &self.seal(to, &value))?;
        self.catalog.delete_secret_row(from)
    }

    /// Remove at once (server settings that go with their stack; hubkeep's
    /// own keys of a resource that is gone).
    pub fn remove_now(&self, name: &str) -> Result<()> {
        self.catalog.delete_secret_row(name)
    }

    fn purge_expired(&self) -> Result<()> {
        let now = crate::now();
        for m in self.list()? {
            if m.deletion_date.is_some_and(|d| d <= now) {
                self.catalog.delete_secret_row(&m.name)?;
            }
        }
        Ok(())
    }
}

/// The key of a home's fingerprints (`Home::fingerprint_key`).
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Derived, never the secret-store key itself: knowing fingerprints
    /// and this key reveals nothing about the sealed values.
    pub fn derive(secret_store_key: &[u8; 32]) -> FingerprintKey {
        FingerprintKey(blake3::derive_key("hubkeep 2026 key fingerprints v1", secret_store_key))
    }
}

/// A short fingerprint of a key keyed with the home's fingerprint key, so
/// that one read from a log or the catalog cannot be tested against guesses
/// of a weak value. Equal values in one home have equal fingerprints; the
/// `blake3k:` prefix tells them from the older unkeyed `blake3:` ones,
/// which records keep showing as they were.
pub fn keyed_fingerprint(key: &FingerprintKey, value: &str) -> String {
    let h = blake3::keyed_hash(&key.0, value.as_bytes());
    format!("blake3k:{}", &h.to_hex()[..16])
}

/// A fresh random secret, 64 hex characters unless asked otherwise.
pub fn generate(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_fingerprints_depend_on_the_home_key_and_differ_from_the_plain_hash() {
        let home_a = FingerprintKey::derive(&[1; 32]);
        let home_b = FingerprintKey::derive(&[2; 32]);
        let a = keyed_fingerprint(&home_a, "hunter2");
        assert_eq!(a, keyed_fingerprint(&home_a, "hunter2"), "stable within a home");
        assert_ne!(a, keyed_fingerprint(&home_b, "hunter2"), "another home's key gives another fingerprint");
        assert_ne!(a, keyed_fingerprint(&home_a, "hunter3"));
        let plain = &blake3::hash(b"hunter2").to_hex()[..16];
        assert!(!a.contains(plain), "not the unkeyed hash a guess could be checked against");
        assert!(a.starts_with("blake3k:") && a.len() == "blake3k:".len() + 16, "{a}");
    }
}
