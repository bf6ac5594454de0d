//! The one definition of the names hubkeep gives the secrets and parameters
//! it keeps, and of the vault a stack backs up to by default. Every other
//! module builds and recognises these names through here, so a rename (or a
//! second front door) cannot leave a copy behind.
//!
//! | name | what |
//! |---|---|
//! | `/keymaster/<stack>/<key>` | a Hubs key of the stack (parameter) |
//! | `/ita/<stack>/<setting>` | a Hubs setting of the stack (parameter) |
//! | `<stack> Database Secret` | the stack's database role and password (secret) |
//! | `/hubkeep/cluster/<stack>/superuser-password` | its embedded cluster's superuser |
//! | `/hubkeep/region/<region>/pg-password` | a region's PostgreSQL server password |
//! | `/hubkeep/vault/<vault>/access-key`, `…/recovery-key` | a vault's keys |
//! | `/hubkeep/webhook/<name>/secret` | a webhook's signing secret |

use std::fmt;

/// A name of a secret or parameter hubkeep writes or reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretName<'a> {
    /// `/keymaster/<stack>/<key>`.
    Keymaster {
        /// The stack.
        stack: &'a str,
        /// The key (`phoenix-key`, `perms-private-key`, …).
        key: &'a str,
    },
    /// `<stack> Database Secret`.
    DatabaseSecret(&'a str),
    /// `/hubkeep/cluster/<stack>/superuser-password`.
    ClusterSuperuser(&'a str),
    /// `/hubkeep/region/<region>/pg-password`.
    RegionPassword(&'a str),
    /// `/hubkeep/vault/<vault>/access-key`.
    VaultAccessKey(&'a str),
    /// `/hubkeep/vault/<vault>/recovery-key`.
    VaultRecoveryKey(&'a str),
    /// `/hubkeep/webhook/<name>/secret`.
    WebhookSecret(&'a str),
}

impl fmt::Display for SecretName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretName::Keymaster { stack, key } => write!(f, "{KEYMASTER}{stack}/{key}"),
            SecretName::DatabaseSecret(stack) => write!(f, "{stack} Database Secret"),
            SecretName::ClusterSuperuser(stack) => write!(f, "/hubkeep/cluster/{stack}/superuser-password"),
            SecretName::RegionPassword(region) => write!(f, "/hubkeep/region/{region}/pg-password"),
            SecretName::VaultAccessKey(vault) => write!(f, "{}access-key", vault_prefix(vault)),
            SecretName::VaultRecoveryKey(vault) => write!(f, "{}recovery-key", vault_prefix(vault)),
            SecretName::WebhookSecret(name) => write!(f, "/hubkeep/webhook/{name}/secret"),
        }
    }
}

const KEYMASTER: &str = "/keymaster/";
const ITA: &str = "/ita/";
/// hubkeep's own names start here; an operator's parameters may not.
pub const HUBKEEP_PREFIX: &str = "/hubkeep/";

/// `/keymaster/<stack>/`: the stack's Hubs keys.
pub fn keymaster_prefix(stack: &str) -> String {
    format!("{KEYMASTER}{stack}/")
}

/// `/ita/<stack>/`: the stack's Hubs settings.
pub fn ita_prefix(stack: &str) -> String {
    format!("{ITA}{stack}/")
}

/// `/hubkeep/cluster/<stack>/`: what hubkeep keeps for the stack's cluster.
pub fn cluster_prefix(stack: &str) -> String {
    format!("{HUBKEEP_PREFIX}cluster/{stack}/")
}

/// `/hubkeep/vault/<vault>/`: the vault's keys.
pub fn vault_prefix(vault: &str) -> String {
    format!("{HUBKEEP_PREFIX}vault/{vault}/")
}

/// Every prefix under which a stack's own secrets and parameters live.
pub fn stack_prefixes(stack: &str) -> [String; 3] {
    [keymaster_prefix(stack), ita_prefix(stack), cluster_prefix(stack)]
}

/// The stack a `/keymaster/<stack>/…` or `/ita/<stack>/…` parameter
/// belongs to; `None` for any other name.
pub fn parameter_stack(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(KEYMASTER).or_else(|| name.strip_prefix(ITA))?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// `/keymaster/<stack>/<key>`.
pub fn keymaster(stack: &str, key: &str) -> String {
    SecretName::Keymaster { stack, key }.to_string()
}

/// `<stack> Database Secret`.
pub fn database_secret_name(stack: &str) -> String {
    SecretName::DatabaseSecret(stack).to_string()
}

/// The vault a stack backs up to unless told otherwise: `<stack>-daily`.
pub fn daily_vault_name(stack: &str) -> String {
    format!("{stack}-daily")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_spellings() {
        assert_eq!(SecretName::Keymaster { stack: "hub", key: "phoenix-key" }.to_string(), "/keymaster/hub/phoenix-key");
        assert_eq!(SecretName::DatabaseSecret("hub").to_string(), "hub Database Secret");
        assert_eq!(SecretName::ClusterSuperuser("hub").to_string(), "/hubkeep/cluster/hub/superuser-password");
        assert_eq!(SecretName::RegionPassword("eu").to_string(), "/hubkeep/region/eu/pg-password");
        assert_eq!(SecretName::VaultAccessKey("hub-daily").to_string(), "/hubkeep/vault/hub-daily/access-key");
        assert_eq!(SecretName::VaultRecoveryKey("hub-daily").to_string(), "/hubkeep/vault/hub-daily/recovery-key");
        assert_eq!(SecretName::WebhookSecret("ops").to_string(), "/hubkeep/webhook/ops/secret");
        assert_eq!(daily_vault_name("hub"), "hub-daily");
    }

    #[test]
    fn a_parameter_names_its_stack() {
        assert_eq!(parameter_stack("/keymaster/hub/phoenix-key"), Some("hub"));
        assert_eq!(parameter_stack("/ita/hub/admin-email"), Some("hub"));
        assert_eq!(parameter_stack("/hubkeep/vault/v/access-key"), None);
        assert_eq!(parameter_stack("/keymaster//x"), None);
        assert_eq!(parameter_stack("/other/hub/x"), None);
    }
}
