//! Connecting to a hub's database and turning driver errors into sentences.
//! Owns the only place that sees the URL, so no password leaks into a message.

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::error::HubsError;

/// A connected hub database plus a password-free name for it in messages.
pub(crate) struct HubDb {
    pub client: Client,
    pub target: String,
}

impl HubDb {
    pub fn connect(db_url: &str) -> Result<Self, HubsError> {
        let config: Config =
            db_url
                .parse()
                .map_err(|e: postgres::Error| HubsError::InvalidUrl {
                    reason: describe(&e),
                })?;
        let target = describe_target(&config);
        let client = config.connect(NoTls).map_err(|e| HubsError::Connect {
            target: target.clone(),
            detail: describe(&e),
        })?;
        Ok(HubDb { client, target })
    }

    /// Maps a driver error raised while doing `action` to [`HubsError::Query`].
    pub fn failed(
        &self,
        action: impl Into<String>,
    ) -> impl FnOnce(postgres::Error) -> HubsError + '_ {
        let action = action.into();
        move |e| HubsError::Query {
            action,
            target: self.target.clone(),
            detail: describe(&e),
        }
    }

    /// Whether `ret0.<table>` exists.
    pub fn has_table(&mut self, table: &str) -> Result<bool, HubsError> {
        let qualified = format!("ret0.{table}");
        let row = self
            .client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
            .map_err(|e| HubsError::Query {
                action: format!("looking up table {qualified}"),
                target: self.target.clone(),
                detail: describe(&e),
            })?;
        Ok(row.get(0))
    }

    pub fn require_table(&mut self, table: &str) -> Result<(), HubsError> {
        if self.has_table(table)? {
            Ok(())
        } else {
            Err(HubsError::NotAHubDatabase {
                target: self.target.clone(),
                table: format!("ret0.{table}"),
            })
        }
    }
}

/// `user@host:port/dbname`, never the password.
fn describe_target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("{user}@{host}:{port}/{db}")
}

/// The driver's own Display says only "db error"; the server's message is
/// what an operator needs.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
