//! The secret store's commands: database secrets (with ARNs) and
//! parameters (`/keymaster/…`, `/ita/…`). hubkeep's own `/hubkeep/…`
//! parameters are never written through here.

use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretKind, SecretMeta};
use crate::Hubkeep;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::ops::RangeInclusive;

/// The recovery windows a secret deletion may have, in days.
pub const RECOVERY_WINDOW_DAYS: RangeInclusive<i64> = 1..=30;

/// What `secret get` prints.
#[derive(Debug, Serialize)]
pub struct SecretValue {
    /// The secret's name.
    pub name: String,
    /// Its ARN.
    pub arn: Option<String>,
    /// Its value: a database secret's is a JSON object.
    pub value: serde_json::Value,
}

/// What `secret delete` prints: the secret with its deletion date, and the
/// backups that cannot be restored without it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretDeletion {
    /// The secret, `deletion_date` set.
    #[serde(flatten)]
    pub meta: SecretMeta,
    /// Backup sets and snapshots that need it.
    pub needed_by: Vec<String>,
}

/// What `param put` prints.
#[derive(Debug, Serialize)]
pub struct ParamStored {
    /// The parameter's name.
    pub name: String,
    /// When its value was written.
    pub updated_at: DateTime<Utc>,
}

/// What `param get` prints.
#[derive(Debug, Serialize)]
pub struct ParamValue {
    /// The parameter's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

fn secret_not_found(name: &str) -> Error {
    Error::new(
        ErrorKind::SecretNotFound,
        format!("secret {name} does not exist"),
    )
}

impl Hubkeep {
    /// `secret list`: the secrets (parameters are listed by `param list`).
    pub fn secret_list(&self) -> Result<Vec<SecretMeta>> {
        Ok(self
            .home
            .secrets()
            .list()?
            .into_iter()
            .filter(|m| m.arn.is_some())
            .collect())
    }

    /// `secret show NAME_OR_ARN`: metadata only.
    pub fn secret_show(&self, name: &str) -> Result<SecretMeta> {
        self.home
            .secrets()
            .find(name)?
            .ok_or_else(|| secret_not_found(name))
    }

    /// `secret get NAME_OR_ARN`.
    pub fn secret_get(&self, name: &str) -> Result<SecretValue> {
        let (meta, value) = self.home.secrets().get(name)?;
        let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
        Ok(SecretValue {
            name: meta.name,
            arn: meta.arn,
            value,
        })
    }

    /// `secret delete NAME_OR_ARN --recovery-window-days N`: scheduled,
    /// with a warning naming the backups that need it.
    pub fn secret_delete(&self, name: &str, recovery_window_days: i64) -> Result<SecretDeletion> {
        if !RECOVERY_WINDOW_DAYS.contains(&recovery_window_days) {
            return Err(Error::invalid(format!(
                "--recovery-window-days must be between {} and {}",
                RECOVERY_WINDOW_DAYS.start(),
                RECOVERY_WINDOW_DAYS.end()
            )));
        }
        let secrets = self.home.secrets();
        let meta = secrets.find(name)?.ok_or_else(|| secret_not_found(name))?;
        let needed_by = self.backups_needing_secret(&meta)?;
        if let Some(first) = needed_by.first() {
            self.note(&format!(
                "warning: {} is needed to restore {} backup(s) (e.g. {first}); without it they can never be restored. `hubkeep secret restore '{}'` undoes this within the recovery window",
                meta.name,
                needed_by.len(),
                meta.name
            ));
        }
        let meta = secrets.schedule_delete(name, recovery_window_days)?;
        Ok(SecretDeletion { meta, needed_by })
    }

    /// `secret restore NAME_OR_ARN`: undo a scheduled deletion.
    pub fn secret_restore(&self, name: &str) -> Result<SecretMeta> {
        self.home.secrets().cancel_delete(name)
    }

    /// `param list PREFIX`: parameters only.
    pub fn param_list(&self, prefix: &str) -> Result<Vec<SecretMeta>> {
        Ok(self
            .home
            .secrets()
            .list_prefix(prefix)?
            .into_iter()
            .filter(|m| m.arn.is_none())
            .collect())
    }

    /// `param put NAME VALUE [--overwrite]`: a path-like name outside
    /// hubkeep's own `/hubkeep/…`; a stack's parameters are tagged with it.
    pub fn param_put(&self, name: &str, value: &str, overwrite: bool) -> Result<ParamStored> {
        if !name.starts_with('/') || name.ends_with('/') || name.contains("//") {
            return Err(Error::invalid(format!("`{name}` is not a parameter name: use a path such as /keymaster/STACK/phoenix-key or /ita/STACK/SETTING")));
        }
        if name.starts_with(crate::names::HUBKEEP_PREFIX) {
            return Err(Error::invalid(format!(
                "{name} is managed by hubkeep itself"
            )));
        }
        let secrets = self.home.secrets();
        if secrets.find(name)?.is_some() && !overwrite {
            return Err(Error::conflict(format!(
                "parameter {name} already exists; add --overwrite to replace its value"
            )));
        }
        let stack = crate::names::parameter_stack(name);
        let meta = secrets.put(name, SecretKind::Param, None, stack, value)?;
        Ok(ParamStored {
            name: meta.name,
            updated_at: meta.updated_at,
        })
    }

    /// `param get NAME`.
    pub fn param_get(&self, name: &str) -> Result<ParamValue> {
        let (meta, value) = self.home.secrets().get(name)?;
        Ok(ParamValue {
            name: meta.name,
            value,
        })
    }
}
