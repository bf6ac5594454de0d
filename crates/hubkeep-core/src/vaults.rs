//! Vaults as the catalog sees them: a name in a region, a location under the
//! region's vault root, and the keys that open it (kept in the secret store).

use crate::names::SecretName;
use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::records::VaultRecord;
use crate::secrets::SecretKind;
use crate::{now, Hubkeep};
use hubkeep_store::S3Settings;
use hubkeep_vault::Vault;
use std::sync::Arc;

/// What `vault create` prints once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CreatedVault {
    /// Its name.
    pub name: crate::ids::VaultName,
    /// Its region.
    pub region: String,
    /// Its location URL.
    pub location: String,
    /// Printed once, when the vault is created; `None` when an existing
    /// vault was reused (its key was printed then; `vault recovery-kit`).
    pub recovery_key: Option<String>,
}



pub(crate) fn open_store(location: &str) -> Result<Arc<dyn hubkeep_store::ObjectStore>> {
    Ok(hubkeep_store::open(location, &S3Settings::from_env())?)
}

impl Hubkeep {
    /// Create a vault in a region (the default when `None`), its keys in the secret store.
    pub fn create_vault(&self, name: &str, region: Option<&str>, stack: Option<&str>) -> Result<CreatedVault> {
        let checked = crate::ids::VaultName::parse(name)?;
        let region = self.home.region(region.unwrap_or(&self.home.default_region()))?;
        if self.home.catalog.get::<VaultRecord>(Kind::Vault, name)?.is_some() {
            return Err(Error::conflict(format!("vault {name} already exists; pick another name or use it as it is")));
        }
        let location = format!("{}/{}", region.vault_root.trim_end_matches('/'), name);
        let created = Vault::create_at(open_store(&location)?, crate::now())?;
        let secrets = self.home.secrets();
        secrets.put(&SecretName::VaultAccessKey(name).to_string(), SecretKind::Param, None, stack, &created.access_key)?;
        secrets.put(&SecretName::VaultRecoveryKey(name).to_string(), SecretKind::Param, None, stack, &created.recovery_key)?;
        let record = VaultRecord {
            name: checked.clone(),
            region: region.name.clone(),
            location: location.clone(),
            vault_id: created.vault.id().to_string(),
            stack: stack.map(crate::ids::StackName::from_stored),
            created_at: now(),
            attached: false,
        };
        self.home.catalog.put(Kind::Vault, name, &record)?;
        Ok(CreatedVault { name: checked, region: region.name, location, recovery_key: Some(created.recovery_key) })
    }

    /// The vault `name` as this home knows it.
    pub fn vault_record(&self, name: &str) -> Result<VaultRecord> {
        self.home.catalog.get(Kind::Vault, name)?.ok_or_else(|| {
            Error::new(ErrorKind::VaultNotFound, format!("vault {name} does not exist in this home; `hubkeep vault list` shows the vaults, `hubkeep vault attach` opens one from another install"))
        })
    }

    /// Every vault, oldest first.
    pub fn vaults(&self) -> Result<Vec<VaultRecord>> {
        self.home.catalog.list(Kind::Vault)
    }

    /// Open a vault with the key this home holds for it.
    pub fn open_vault(&self, name: &str) -> Result<Vault> {
        let record = self.vault_record(name)?;
        let secrets = self.home.secrets();
        let key = match secrets.value(&SecretName::VaultAccessKey(name).to_string())? {
            Some(k) => k,
            None => secrets.value(&SecretName::VaultRecoveryKey(name).to_string())?.ok_or_else(|| {
                Error::new(ErrorKind::WrongKey, format!("this home holds no key for vault {name}; attach it again with `hubkeep vault attach {name} --location {} --recovery-key …`", record.location))
            })?,
        };
        Vault::open(open_store(&record.location)?, &key).map_err(|e| Error::from(e).context(format!("opening vault {name} at {}", record.location)))
    }

    /// The recovery key of a vault this home created or attached.
    pub fn vault_recovery_key(&self, name: &str) -> Result<String> {
        self.vault_record(name)?;
        self.home.secrets().value(&SecretName::VaultRecoveryKey(name).to_string())?.ok_or_else(|| {
            Error::new(ErrorKind::SecretNotFound, format!("the recovery key of vault {name} is not in this home's secret store"))
        })
    }

    /// Record an existing vault opened with its recovery key; returns the
    /// opened vault for the catalog rebuild.
    pub(crate) fn register_attached_vault(&self, name: &str, location: &str, recovery_key: &str, region: &str) -> Result<Vault> {
        let checked = crate::ids::VaultName::parse(name)?;
        self.home.region(region)?;
        let vault = Vault::open(open_store(location)?, recovery_key.trim())?;
        if let Some(existing) = self.home.catalog.get::<VaultRecord>(Kind::Vault, name)? {
            if existing.vault_id != vault.id() {
                return Err(Error::conflict(format!(
                    "a different vault named {name} already exists in this home (at {}); attach this one under another name",
                    existing.location
                )));
            }
        }
        self.home.secrets().put(&SecretName::VaultRecoveryKey(name).to_string(), SecretKind::Param, None, None, recovery_key.trim())?;
        let record = VaultRecord {
            name: checked,
            region: region.to_string(),
            location: location.to_string(),
            vault_id: vault.id().to_string(),
            stack: None,
            created_at: now(),
            attached: true,
        };
        self.home.catalog.put(Kind::Vault, name, &record)?;
        Ok(vault)
    }

    /// Refuse a vault of another region, saying how to get it here.
    pub(crate) fn vault_in_region(&self, name: &str, region: &str) -> Result<VaultRecord> {
        let v = self.vault_record(name)?;
        if v.region != region {
            return Err(Error::new(
                ErrorKind::WrongRegion,
                format!(
                    "vault {name} is in region {}, not {region}: restores work only within one region; copy it to {region} first (attach its location there with `hubkeep vault attach NAME --location {} --recovery-key … --region {region}`)",
                    v.region, v.location
                ),
            ));
        }
        Ok(v)
    }
}
