//! The version guard: a backup set records the app version the stack
//! declared and Reticulum's migration level; a restore that declares an
//! older app version than the backup's is refused (`--force-version`
//! overrides), because that app would run on a schema newer than it knows.

use crate::error::{Error, ErrorKind, Result};
use crate::records::{BackupSet, Stack};
use crate::Hubkeep;
use std::cmp::Ordering;

/// The schema whose `schema_migrations` table is Reticulum's.
const RETICULUM_SCHEMA: &str = "ret0";

impl Hubkeep {
    /// Reticulum's migration level in `stack`'s database (`None` when it has
    /// no `ret0.schema_migrations`).
    pub(crate) fn migration_level(&self, stack: &Stack) -> Result<Option<i64>> {
        let conn = self.admin_conn(stack)?;
        Ok(hubkeep_pg::ecto_migration_level(&conn, RETICULUM_SCHEMA)?)
    }
}

/// Refuses restoring `set` into a stack declaring `target` as its app
/// version when that version is older than the set's, or cannot be ordered
/// against it; `force` lets it through. A set that recorded no app version
/// (made before hubkeep recorded it, or by a stack that declared none), or a
/// restore declaring none (the new stack then takes the set's), passes.
pub(crate) fn check_app_version(set: &BackupSet, target: Option<&str>, force: bool) -> Result<()> {
    let (Some(source), Some(target)) = (set.app_version.as_deref(), target) else {
        return Ok(());
    };
    if force {
        return Ok(());
    }
    let level = match set.migration_level {
        Some(l) => format!(" (Reticulum migration level {l})"),
        None => String::new(),
    };
    let why = match compare(target, source) {
        Some(Ordering::Less) => "older than",
        Some(_) => return Ok(()),
        None if target == source => return Ok(()),
        None => "not comparable with",
    };
    Err(Error::new(ErrorKind::AppVersionOlder, format!(
        "backup set {} was taken from app version {source}{level}; the new stack declares app version {target}, which is {why} it: that app may not know the backup's database schema. \
         Declare {source} or newer with --app-version (versions compare as dot-separated numbers, e.g. 2.10.0 > 2.9.1), or re-run with --force-version to restore anyway",
        set.backup_id
    )))
}

/// Orders two app versions written as dot-separated numbers (an optional
/// leading `v`, a `-…` or `+…` suffix ignored); `None` when either is not one.
fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (numbers(a)?, numbers(b)?);
    let len = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    Some(
        (0..len)
            .map(|i| at(&a, i).cmp(&at(&b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
    )
}

fn numbers(version: &str) -> Option<Vec<u64>> {
    let v = version.trim();
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_number_by_number() {
        assert_eq!(compare("2.10.0", "2.9.1"), Some(Greater));
        assert_eq!(compare("v1.2", "1.2.0"), Some(Equal));
        assert_eq!(compare("1.1.5-rc1", "1.2.0"), Some(Less));
        assert_eq!(compare("stable-2024", "1.0"), None);
    }
}
