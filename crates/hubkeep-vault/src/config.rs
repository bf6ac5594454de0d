//! The plain-text `config` object: what format this vault is, and its id.

use serde::{Deserialize, Serialize};

use crate::chunker::ChunkerParams;
use crate::VaultError;

pub(crate) const FORMAT_NAME: &str = "hubkeep-vault";
pub(crate) const FORMAT_VERSION: u32 = 1;
pub(crate) const CONFIG_OBJECT: &str = "config";

/// The decoded `config` object (JSON, unencrypted).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Config {
    pub format: String,
    pub version: u32,
    /// 32 lowercase hex digits, random at creation.
    pub id: String,
    pub chunker: ChunkerParams,
    pub created: String,
}

impl Config {
    /// A new vault's configuration, created `at`.
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        Config {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            id: hex::encode(crate::crypto::random_bytes::<16>()),
            chunker: ChunkerParams::DEFAULT,
            created: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("config serializes")
    }

    /// Checks format name and version before trusting any other field.
    pub fn decode(bytes: &[u8], location: &str) -> Result<Self, VaultError> {
        let corrupt = |detail: String| VaultError::Corrupt {
            location: location.into(),
            object: CONFIG_OBJECT.into(),
            detail,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("it is not JSON ({e})")))?;
        let format = value
            .get("format")
            .and_then(|f| f.as_str())
            .unwrap_or("(none)");
        if format != FORMAT_NAME {
            return Err(VaultError::UnknownFormat {
                location: location.into(),
                found: format.into(),
                expected: FORMAT_NAME.into(),
            });
        }
        let version = value
            .get("version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| corrupt("it has no numeric version".into()))?;
        if version != u64::from(FORMAT_VERSION) {
            return Err(VaultError::UnsupportedVersion {
                location: location.into(),
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let config: Config = serde_json::from_value(value)
            .map_err(|e| corrupt(format!("a field is missing or wrong ({e})")))?;
        if config.id.len() != 32 || !config.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(corrupt("its id is not 32 hex digits".into()));
        }
        config.chunker.validate().map_err(corrupt)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips() {
        let c = Config::new(chrono::Utc::now());
        assert_eq!(Config::decode(&c.encode(), "x").unwrap(), c);
    }

    #[test]
    fn a_newer_version_is_named_in_the_error() {
        let mut v: serde_json::Value = serde_json::from_slice(&Config::new(chrono::Utc::now()).encode()).unwrap();
        v["version"] = 7.into();
        let err = Config::decode(&serde_json::to_vec(&v).unwrap(), "file:///v")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("version 7") && err.contains("supports version 1"),
            "{err}"
        );
    }
}
