//! API access tokens: `token create/list/revoke` and the check every HTTP
//! request goes through. A token is 32 random bytes shown once as
//! `hk_<base64url>`; the catalog keeps only its SHA-256 hash. A token has
//! 256 bits of entropy, so a fast hash is enough: no guessing attack gains
//! from a slow one (docs/security.md).

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::{now, Hubkeep};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do over the HTTP API; each role includes the ones
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every GET; never a secret value.
    Read,
    /// Also backups, restores, drills, plan changes, verify.
    Operator,
    /// Also tokens, notifications, deletions.
    Admin,
}

impl Role {
    /// The role named `s` (`admin`, `operator`, `read`).
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "read" => Ok(Role::Read),
            other => Err(Error::invalid(format!(
                "unknown role {other:?}; use admin, operator or read"
            ))),
        }
    }
}

/// A token as the catalog keeps it: never the token itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct TokenRecord {
    name: String,
    role: Role,
    /// Hex SHA-256 of the token's text.
    sha256: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

/// `token create --json`: the only time the token is shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The token: `hk_` and 43 base64url characters.
    pub token: String,
}

/// `token list` items, and who a request is: everything but the token.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a request last used it; null if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenInfo {
    fn from(r: TokenRecord) -> TokenInfo {
        TokenInfo {
            name: r.name,
            role: r.role,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// `token revoke --json`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedToken {
    /// The token's name.
    pub name: String,
    /// Always true.
    pub revoked: bool,
}

/// How often `last_used_at` is rewritten: every request would make each
/// GET a catalog write.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal in time independent of where the two differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Hubkeep {
    /// `token create NAME --role R`.
    pub fn token_create(&self, name: &str, role: Role) -> Result<CreatedToken> {
        crate::ids::check_token_name(name)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!(
            "hk_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let record = TokenRecord {
            name: name.to_string(),
            role,
            sha256: sha256_hex(&token),
            created_at: now(),
            last_used_at: None,
        };
        if !self.home.catalog.insert_new(Kind::Token, name, &record)? {
            return Err(Error::conflict(format!(
                "a token named {name} exists; revoke it first or choose another name"
            )));
        }
        Ok(CreatedToken {
            name: name.to_string(),
            role,
            token,
        })
    }

    /// `token list`, oldest first; never a token.
    pub fn token_list(&self) -> Result<Vec<TokenInfo>> {
        let all: Vec<TokenRecord> = self.home.catalog.list(Kind::Token)?;
        Ok(all.into_iter().map(TokenInfo::from).collect())
    }

    /// `token revoke NAME`: requests with it are refused from now on.
    pub fn token_revoke(&self, name: &str) -> Result<RevokedToken> {
        if self
            .home
            .catalog
            .get::<TokenRecord>(Kind::Token, name)?
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("token {name} does not exist; `hubkeep token list` shows the tokens"),
            ));
        }
        self.home.catalog.delete(Kind::Token, name)?;
        Ok(RevokedToken {
            name: name.to_string(),
            revoked: true,
        })
    }

    /// Who presents `token`: refused (`unauthenticated`) unless it is a
    /// live token of this home.
    pub fn authenticate(&self, token: &str) -> Result<TokenInfo> {
        let presented = sha256_hex(token);
        let all: Vec<TokenRecord> = self.home.catalog.list(Kind::Token)?;
        // Every record is compared, so the time taken does not say which one matched.
        let found = all.into_iter().fold(None, |hit, r| {
            if constant_time_eq(r.sha256.as_bytes(), presented.as_bytes()) {
                Some(r)
            } else {
                hit
            }
        });
        let record = found.ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                "the access token is not valid (unknown or revoked)",
            )
        })?;
        let t = now();
        if record
            .last_used_at
            .is_none_or(|last| (t - last).num_seconds() >= LAST_USED_RESOLUTION_SECONDS)
        {
            self.home
                .catalog
                .update::<TokenRecord, _>(Kind::Token, &record.name, |r| {
                    r.last_used_at = Some(t);
                    Ok(())
                })?;
        }
        Ok(TokenInfo {
            last_used_at: Some(t),
            ..TokenInfo::from(record)
        })
    }
}
