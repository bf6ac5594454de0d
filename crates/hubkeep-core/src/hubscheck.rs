//! The Hubs check of a backup set, without restoring it: every
//! `ret0.owned_files` row in the database snapshot has its `.blob` and
//! `.meta.json` in the recovery point, and blobs decrypt with the
//! `phoenix-key` from the backup's own key bundle — proving that database
//! rows, files and keys of the backup belong together.

use crate::dbsnap::VaultSource;
use crate::error::{Error, Result};
use crate::records::BackupSet;
use crate::Hubkeep;
use hubkeep_pg::{SnapshotMeta, SnapshotSource};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

/// How many blobs are decrypted without `--read-data`.
const SAMPLE: usize = 20;

struct Row {
    uuid: String,
    key: String,
}

impl Hubkeep {
    pub fn hubs_check_backup(&self, set: &BackupSet, read_all: bool) -> Result<serde_json::Value> {
        let bundle = self.backup_key_bundle(set)?;
        let Some(phoenix) = bundle.keymaster.get("phoenix-key") else {
            return Ok(serde_json::json!({"passed": false, "categories": [], "note": "the backup holds no phoenix-key: its blobs cannot be decrypted"}));
        };
        let snap = self.available_snapshot(&set.db_snapshot_id)?;
        let meta: SnapshotMeta = serde_json::from_value(snap.metadata.clone().ok_or_else(|| Error::new("corrupt", "the snapshot has no metadata"))?)?;
        let source = VaultSource::new(self.open_vault(&snap.vault)?, snap.vault_snapshot_id.clone().unwrap_or_default());
        let rows = owned_file_rows(&source, &meta)?;
        let rp = self.available_recovery_point(&set.recovery_point_arn)?;
        let files_vault = self.open_vault(&rp.vault)?;
        let rp_id = rp.vault_snapshot_id.clone().unwrap_or_default();
        let paths: HashSet<Vec<u8>> = files_vault.entries(&rp_id)?.into_iter().map(|e| e.path).collect();
        let rel = |uuid: &str, ext: &str| format!("owned/{}/{}/{uuid}.{ext}", uuid.get(..2).unwrap_or(uuid), uuid.get(2..4).unwrap_or(""));
        let (mut blob_problems, mut meta_problems, mut decrypt_problems) = (vec![], vec![], vec![]);
        let mut decrypted = 0;
        for (i, row) in rows.iter().enumerate() {
            let blob = rel(&row.uuid, "blob");
            if !paths.contains(blob.as_bytes()) {
                blob_problems.push(format!("owned_files row {} has no {blob}", row.uuid));
                continue;
            }
            if !paths.contains(rel(&row.uuid, "meta.json").as_bytes()) {
                meta_problems.push(format!("owned_files row {} has no {}", row.uuid, rel(&row.uuid, "meta.json")));
            }
            if read_all || i < SAMPLE {
                decrypted += 1;
                let head = files_vault.open_stream(&rp_id, &blob).map_err(Error::from).and_then(|mut r| {
                    let mut h = [0u8; 12];
                    r.read_exact(&mut h).map_err(|e| Error::new("vault", format!("reading {blob}: {e}")))?;
                    Ok(h)
                });
                match head.and_then(|h| hubkeep_hubs::decrypt_header(&row.key, phoenix, &h).map_err(|e| Error::new("hubs", e.to_string()))) {
                    Ok(_) => {}
                    Err(e) => decrypt_problems.push(format!("{blob}: {e}")),
                }
            }
        }
        let cat = |name: &str, checked: usize, problems: Vec<String>| {
            serde_json::json!({"name": name, "checked": checked, "ok": checked - problems.len().min(checked), "problems": problems})
        };
        let passed = blob_problems.is_empty() && meta_problems.is_empty() && decrypt_problems.is_empty();
        Ok(serde_json::json!({
            "passed": passed,
            "sampled": decrypted,
            "categories": [
                cat("owned_files: blob present", rows.len(), blob_problems),
                cat("owned_files: meta present", rows.len(), meta_problems),
                cat("owned_files: decrypts with phoenix-key", decrypted, decrypt_problems),
            ],
        }))
    }
}

/// `owned_file_uuid` and `key` of every row, read from the snapshot's COPY
/// stream of `ret0.owned_files` (text format: tab-separated, `\N` = NULL).
fn owned_file_rows(source: &VaultSource, meta: &SnapshotMeta) -> Result<Vec<Row>> {
    let Some(table) = meta.tables.iter().find(|t| t.schema == "ret0" && t.name == "owned_files") else {
        return Ok(vec![]);
    };
    let col = |name: &str| {
        table.columns.iter().position(|c| c == name).ok_or_else(|| Error::new("hubs", format!("ret0.owned_files has no column {name}: is this a Reticulum database?")))
    };
    let (uuid_at, key_at) = (col("owned_file_uuid")?, col("key")?);
    let reader = BufReader::new(source.open_stream(&table.stream).map_err(|e| Error::new("vault", e.to_string()))?);
    let mut rows = vec![];
    for line in reader.lines() {
        let line = line.map_err(|e| Error::new("vault", format!("reading ret0.owned_files from the snapshot: {e}")))?;
        let fields: Vec<&str> = line.split('\t').collect();
        if let (Some(u), Some(k)) = (fields.get(uuid_at), fields.get(key_at)) {
            if *u != "\\N" && *k != "\\N" {
                rows.push(Row { uuid: u.to_string(), key: k.to_string() });
            }
        }
    }
    Ok(rows)
}
