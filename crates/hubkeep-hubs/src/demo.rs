//! A small, realistic demo hub: accounts, rooms, scenes, avatars, Spoke
//! projects, app settings and encrypted files written exactly as Reticulum
//! writes them, so backups, restores and the check have real data to chew on.

use std::path::Path;

use base64::Engine as _;
use postgres::Transaction;
use rand::{Rng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crypto::{encrypt_blob, encrypt_stream, STREAM_CHUNK};
use crate::db::{describe, HubDb};
use crate::error::HubsError;
use crate::layout::{file_paths, write_file, Meta, StorageArea};

/// What [`populate_demo`] created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoHub {
    /// Accounts created.
    pub accounts: usize,
    /// Rooms (`hubs` rows) created.
    pub hubs: usize,
    /// Scenes created.
    pub scenes: usize,
    /// Avatars created.
    pub avatars: usize,
    /// Spoke projects created.
    pub projects: usize,
    /// `owned_files` rows, each with its blob and meta file under `owned/`.
    pub owned_files: usize,
    /// `cached_files` rows, each with its blob and meta file under `cached/`.
    pub cached_files: usize,
    /// Fresh uploads under `expiring/` (no database rows, as in Reticulum).
    pub expiring_files: usize,
    /// Sum of the plaintext lengths of the owned files.
    pub owned_bytes: u64,
}

/// What [`mutate_demo`] changed, to tell a restored old state from the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoMutation {
    /// The uuid of the owned file that was added.
    pub added_owned_file: String,
    /// `hub_sid` of the room that was renamed, and its new name.
    pub renamed_hub_sid: String,
    /// The room's name after the rename.
    pub new_hub_name: String,
    /// `hub_sid` of the room that was deleted.
    pub deleted_hub_sid: String,
}

const ROOM_NAMES: &[&str] = &[
    "Cozy Living Room",
    "Rooftop Garden",
    "Quiet Library",
    "Sunset Beach",
    "Team Standup",
    "Art Gallery",
    "Moon Base",
    "Campfire Circle",
    "Conference Hall",
    "Tiny Treehouse",
    "Underwater Lab",
    "Jazz Lounge",
];
const SCENE_NAMES: &[&str] = &[
    "Atrium",
    "Wide Open Space",
    "Outdoor Meetup",
    "Sky Island",
    "Wizard Tower",
    "Bright Classroom",
    "Zen Garden",
    "Crater",
];
const AVATAR_NAMES: &[&str] = &[
    "Robot Red",
    "Fox",
    "Astronaut",
    "Panda",
    "Knight",
    "Octopus",
    "Cat in Hat",
];
const PEOPLE: &[&str] = &[
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Radia", "Donald",
];

/// Fills a freshly created demo schema (see
/// [`create_demo_schema`](crate::create_demo_schema)) with a hub of roughly
/// `scale` creators' worth of content, and writes its files under `storage`
/// encrypted with `secret_key_base`. Includes an empty file (bare header),
/// a duplicated empty file (padded blob), a 5-byte file (padded blob), a
/// file of a few MiB (several stream chunks) and a `cached/` file.
///
/// Refuses a database that already has owned files.
pub fn populate_demo(
    db_url: &str,
    storage: &Path,
    secret_key_base: &str,
    scale: usize,
) -> Result<DemoHub, HubsError> {
    let scale = scale.max(1);
    let mut db = HubDb::connect(db_url)?;
    db.require_table("owned_files")?;
    let existing: i64 = db
        .client
        .query_one("SELECT count(*) FROM ret0.owned_files", &[])
        .map_err(db.failed("counting owned files"))?
        .get(0);
    if existing > 0 {
        return Err(HubsError::AlreadyPopulated {
            target: db.target.clone(),
            owned_files: existing,
        });
    }
    let target = db.target.clone();
    let tx = db
        .client
        .transaction()
        .map_err(|e| query_error(&target, "starting a transaction", e))?;
    let mut demo = Demo {
        tx,
        target: target.clone(),
        storage,
        secret_key_base,
        hub: DemoHub::default(),
    };
    demo.populate(scale)?;
    let Demo { tx, hub, .. } = demo;
    tx.commit()
        .map_err(|e| query_error(&target, "committing the demo hub", e))?;
    Ok(hub)
}

/// Changes the demo hub the way a day of use would: adds an owned file,
/// renames the oldest room and deletes the newest. Used to prove that a
/// restore brings back the earlier state.
pub fn mutate_demo(
    db_url: &str,
    storage: &Path,
    secret_key_base: &str,
) -> Result<DemoMutation, HubsError> {
    let mut db = HubDb::connect(db_url)?;
    db.require_table("hubs")?;
    let target = db.target.clone();
    let tx = db
        .client
        .transaction()
        .map_err(|e| query_error(&target, "starting a transaction", e))?;
    let mut demo = Demo {
        tx,
        target: target.clone(),
        storage,
        secret_key_base,
        hub: DemoHub::default(),
    };
    let mutation = demo.mutate()?;
    demo.tx
        .commit()
        .map_err(|e| query_error(&target, "committing the change", e))?;
    Ok(mutation)
}

fn query_error(target: &str, action: &str, e: postgres::Error) -> HubsError {
    HubsError::Query {
        action: action.to_string(),
        target: target.to_string(),
        detail: describe(&e),
    }
}

struct Demo<'a> {
    tx: Transaction<'a>,
    target: String,
    storage: &'a Path,
    secret_key_base: &'a str,
    hub: DemoHub,
}

impl Demo<'_> {
    fn fail<'s>(&'s self, action: &'s str) -> impl FnOnce(postgres::Error) -> HubsError + 's {
        move |e| query_error(&self.target, action, e)
    }

    fn populate(&mut self, scale: usize) -> Result<(), HubsError> {
        let mut rng = rand::thread_rng();

        // Accounts: the first one is the hub's admin.
        let mut accounts = Vec::new();
        for i in 0..=scale {
            let name = PEOPLE[i % PEOPLE.len()];
            let account = self.account(
                &format!("{name}{}", suffix(i, PEOPLE.len())),
                i == 0,
                24 * 90 - i as i32,
            )?;
            accounts.push(account);
        }
        let admin = accounts[0];

        // App settings, as the admin console stores them.
        let logo = self.owned_file(admin, "image/png", &png(&mut rng, 6_000), None)?;
        for (key, value, file) in [
            ("translations|en|app-name", "\"Demo Hub\"", None),
            ("translations|en|company-name", "\"hubkeep\"", None),
            ("features|require_account_for_join", "false", None),
            ("theme|dark-theme", "true", None),
            ("images|logo", "\"logo.png\"", Some(logo)),
        ] {
            self.tx
                .execute(
                    "INSERT INTO ret0.app_configs (key, value, owned_file_id, inserted_at, updated_at)
                     VALUES ($1, jsonb_build_object('value', $2::text::jsonb), $3, now()::timestamp(0), now()::timestamp(0))",
                    &[&key, &value, &file],
                )
                .map_err(self.fail("adding app settings"))?;
        }

        // Scenes published from Spoke, each with its project.
        let mut scenes = Vec::new();
        for i in 0..scale {
            let owner = accounts[1 + i % scale];
            let name = format!(
                "{}{}",
                SCENE_NAMES[i % SCENE_NAMES.len()],
                suffix(i, SCENE_NAMES.len())
            );
            let model = self.owned_file(
                owner,
                "model/gltf-binary",
                &glb(&mut rng, 40_000 + 7_919 * i),
                Some(hex_token(&mut rng)),
            )?;
            let screenshot = self.owned_file(
                owner,
                "image/jpeg",
                &jpeg(&mut rng, 12_000),
                Some(hex_token(&mut rng)),
            )?;
            let spoke = self.owned_file(
                owner,
                "application/json",
                spoke_project(&name).as_bytes(),
                None,
            )?;
            let scene_id: i64 = self
                .tx
                .query_one(
                    "INSERT INTO ret0.scenes (scene_sid, slug, name, description, account_id, model_owned_file_id,
                        screenshot_owned_file_id, scene_owned_file_id, allow_remixing, allow_promotion, attributions,
                        inserted_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9,
                        jsonb_build_object('creator', $10::text, 'content', '[]'::jsonb),
                        now()::timestamp(0) - make_interval(days => $11), now()::timestamp(0) - make_interval(days => $11))
                     RETURNING scene_id",
                    &[&sid(&mut rng), &slug(&name), &name, &format!("A scene called {name}"), &owner, &model, &screenshot,
                      &spoke, &(i % 2 == 0), &PEOPLE[i % PEOPLE.len()], &(60 - (i % 60) as i32)],
                )
                .map_err(self.fail("adding a scene"))?
                .get(0);
            if i == 0 {
                self.tx
                    .execute(
                        "INSERT INTO ret0.scene_listings (scene_listing_sid, scene_id, slug, name, description, tags,
                            model_owned_file_id, scene_owned_file_id, screenshot_owned_file_id, \"order\", inserted_at, updated_at)
                         VALUES ($1, $2, $3, $4, 'Featured on the lobby page', '{\"tags\": [\"featured\", \"default\"]}',
                            $5, $6, $7, 1, now()::timestamp(0), now()::timestamp(0))",
                        &[&sid(&mut rng), &scene_id, &slug(&name), &name, &model, &spoke, &screenshot],
                    )
                    .map_err(self.fail("listing a scene"))?;
            }
            let thumbnail = self.owned_file(owner, "image/jpeg", &jpeg(&mut rng, 4_000), None)?;
            let project = self.owned_file(
                owner,
                "application/json",
                spoke_project(&name).as_bytes(),
                None,
            )?;
            self.tx
                .execute(
                    "INSERT INTO ret0.projects (project_sid, name, created_by_account_id, project_owned_file_id,
                        thumbnail_owned_file_id, scene_id, inserted_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, now()::timestamp(0), now()::timestamp(0))",
                    &[&sid(&mut rng), &name, &owner, &project, &thumbnail, &scene_id],
                )
                .map_err(self.fail("adding a Spoke project"))?;
            self.hub.projects += 1;
            scenes.push(scene_id);
        }
        self.hub.scenes = scenes.len();

        // Avatars.
        for i in 0..scale {
            let owner = accounts[1 + i % scale];
            let name = format!(
                "{}{}",
                AVATAR_NAMES[i % AVATAR_NAMES.len()],
                suffix(i, AVATAR_NAMES.len())
            );
            let gltf = self.owned_file(
                owner,
                "model/gltf",
                avatar_gltf(&name).as_bytes(),
                Some(hex_token(&mut rng)),
            )?;
            let bin = self.owned_file(
                owner,
                "application/octet-stream",
                &random_bytes(&mut rng, 30_000),
                Some(hex_token(&mut rng)),
            )?;
            let thumb = self.owned_file(owner, "image/png", &png(&mut rng, 3_000), None)?;
            let avatar_id: i64 = self
                .tx
                .query_one(
                    "INSERT INTO ret0.avatars (avatar_sid, slug, name, account_id, gltf_owned_file_id, bin_owned_file_id,
                        thumbnail_owned_file_id, allow_remixing, allow_promotion, inserted_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, true, true, now()::timestamp(0), now()::timestamp(0))
                     RETURNING avatar_id",
                    &[&sid(&mut rng), &slug(&name), &name, &owner, &gltf, &bin, &thumb],
                )
                .map_err(self.fail("adding an avatar"))?
                .get(0);
            if i == 0 {
                self.tx
                    .execute(
                        "INSERT INTO ret0.avatar_listings (avatar_listing_sid, slug, avatar_id, name, tags, account_id,
                            gltf_owned_file_id, bin_owned_file_id, thumbnail_owned_file_id, \"order\", inserted_at, updated_at)
                         VALUES ($1, $2, $3, $4, '{\"tags\": [\"featured\"]}', $5, $6, $7, $8, 1, now()::timestamp(0), now()::timestamp(0))",
                        &[&sid(&mut rng), &slug(&name), &avatar_id, &name, &owner, &gltf, &bin, &thumb],
                    )
                    .map_err(self.fail("listing an avatar"))?;
            }
            self.hub.avatars += 1;
        }

        // Rooms: two per creator, in the scenes above.
        let room_count = 2 * scale;
        let mut hubs = Vec::new();
        for i in 0..room_count {
            let creator = accounts[i % accounts.len()];
            let name = format!(
                "{}{}",
                ROOM_NAMES[i % ROOM_NAMES.len()],
                suffix(i, ROOM_NAMES.len())
            );
            let hub_id: i64 = self
                .tx
                .query_one(
                    "INSERT INTO ret0.hubs (hub_sid, slug, name, scene_id, created_by_account_id, max_occupant_count,
                        entry_mode, spawned_object_types, host, creator_assignment_token, embed_token, member_permissions,
                        room_size, user_data, last_active_at, inserted_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'allow', 0, NULL, $7, $8, 511, 24,
                        '{\"allow_promotion\": false}', now()::timestamp(0) - make_interval(hours => $9),
                        now()::timestamp(0) - make_interval(days => $10), now()::timestamp(0) - make_interval(hours => $9))
                     RETURNING hub_id",
                    &[&sid(&mut rng), &slug(&name), &name, &scenes[i % scenes.len()], &creator, &(i as i32 % 7),
                      &hex_token(&mut rng), &hex_token(&mut rng), &((i % 48) as i32 * 5), &(40 - (i % 40) as i32)],
                )
                .map_err(self.fail("adding a room"))?
                .get(0);
            self.tx
                .execute(
                    "INSERT INTO ret0.hub_role_memberships (hub_id, account_id, inserted_at, updated_at)
                     VALUES ($1, $2, now()::timestamp(0), now()::timestamp(0))",
                    &[&hub_id, &admin],
                )
                .map_err(self.fail("adding a room moderator"))?;
            self.tx
                .execute(
                    "INSERT INTO ret0.account_favorites (account_id, hub_id, last_activated_at, inserted_at, updated_at)
                     VALUES ($1, $2, now()::timestamp(0), now()::timestamp(0), now()::timestamp(0))",
                    &[&creator, &hub_id],
                )
                .map_err(self.fail("adding a favorite room"))?;
            hubs.push((hub_id, creator));
        }
        self.hub.hubs = hubs.len();

        // Media pinned in the first room, and its networked state.
        let (first_hub, first_creator) = hubs[0];
        let photo = self.owned_file(
            first_creator,
            "image/jpeg",
            &jpeg(&mut rng, 25_000),
            Some(hex_token(&mut rng)),
        )?;
        let photo_uuid: String = self
            .tx
            .query_one(
                "SELECT owned_file_uuid FROM ret0.owned_files WHERE owned_file_id = $1",
                &[&photo],
            )
            .map_err(self.fail("reading back a pinned photo"))?
            .get(0);
        let node = format!(
            "{{\"name\":\"photo\",\"extensions\":{{\"HUBS_components\":{{\"media\":{{\"src\":\"https://demo.hub/files/{photo_uuid}.jpg\",\"id\":\"pinned-photo\"}},\"pinnable\":{{\"pinned\":true}}}}}}}}"
        );
        self.tx
            .execute(
                "INSERT INTO ret0.room_objects (object_id, hub_id, gltf_node, account_id, inserted_at, updated_at)
                 VALUES ('pinned-photo', $1, $2, $3, now()::timestamp(0), now()::timestamp(0))",
                &[&first_hub, &node.into_bytes(), &first_creator],
            )
            .map_err(self.fail("pinning a photo"))?;
        let entity_id: i64 = self
            .tx
            .query_one(
                "INSERT INTO ret0.entities (nid, create_message, hub_id, inserted_at, updated_at)
                 VALUES ('pinned-photo', $1, $2, now()::timestamp(0), now()::timestamp(0)) RETURNING entity_id",
                &[&b"{\"version\":1,\"networkId\":\"pinned-photo\",\"prefab\":\"media\"}".to_vec(), &first_hub],
            )
            .map_err(self.fail("adding a networked entity"))?
            .get(0);
        self.tx
            .execute(
                "INSERT INTO ret0.sub_entities (nid, update_message, hub_id, entity_id, inserted_at, updated_at)
                 VALUES ('pinned-photo.transform', $1, $2, $3, now()::timestamp(0), now()::timestamp(0))",
                &[&b"{\"position\":[0,1.6,-2]}".to_vec(), &first_hub, &entity_id],
            )
            .map_err(self.fail("adding a networked sub-entity"))?;

        // Files whose blobs are not 12 + length bytes, and a large one.
        let uploader = accounts[accounts.len() - 1];
        self.owned_file(uploader, "text/plain", b"", None)?;
        self.owned_file_from_stream(uploader, "text/plain", &[b""])?;
        self.owned_file(uploader, "text/plain", b"hello", None)?;
        let big = random_bytes(&mut rng, 3 * STREAM_CHUNK + 5);
        let asset_file = self.owned_file(uploader, "video/mp4", &big, Some(hex_token(&mut rng)))?;
        self.tx
            .execute(
                "INSERT INTO ret0.assets (asset_sid, name, type, account_id, asset_owned_file_id, inserted_at, updated_at)
                 VALUES ($1, 'Intro video', 'video', $2, $3, now()::timestamp(0), now()::timestamp(0))",
                &[&sid(&mut rng), &uploader, &asset_file],
            )
            .map_err(self.fail("adding a Spoke asset"))?;

        // Media proxied from elsewhere, cached by Reticulum.
        for i in 0..(1 + scale / 2) {
            let bytes = glb(&mut rng, 20_000 + 1_000 * i);
            let cache_key = format!(
                "https://models.example.org/{}/download.glb",
                hex_token(&mut rng)
            );
            self.cached_file(&cache_key, "model/gltf-binary", &bytes)?;
        }

        // Fresh uploads nobody has promoted yet.
        for _ in 0..2 {
            let uuid = uuid::Uuid::new_v4().to_string();
            let bytes = jpeg(&mut rng, 8_000);
            let blob = encrypt_blob(&hex_token(&mut rng), self.secret_key_base, &bytes);
            let meta = Meta {
                content_length: bytes.len() as u64,
                content_type: "image/jpeg".into(),
                promotion_token: Some(hex_token(&mut rng)),
            };
            write_file(
                &file_paths(self.storage, StorageArea::Expiring, &uuid),
                &blob,
                &meta,
            )?;
            self.hub.expiring_files += 1;
        }

        self.tx
            .execute(
                "INSERT INTO coturn.turn_secret (realm, value, inserted_at, updated_at)
                 VALUES ('turkey', $1, now(), now())",
                &[&hex_token(&mut rng)],
            )
            .map_err(self.fail("adding the TURN secret"))?;
        Ok(())
    }

    fn mutate(&mut self) -> Result<DemoMutation, HubsError> {
        let mut rng = rand::thread_rng();
        let account: i64 = self
            .tx
            .query_opt(
                "SELECT account_id FROM ret0.accounts ORDER BY account_id LIMIT 1",
                &[],
            )
            .map_err(self.fail("finding an account"))?
            .ok_or_else(|| HubsError::DemoExhausted {
                target: self.target.clone(),
                what: "add a file to",
            })?
            .get(0);
        let added = self.owned_file(
            account,
            "image/png",
            &png(&mut rng, 5_000),
            Some(hex_token(&mut rng)),
        )?;
        let added_uuid: String = self
            .tx
            .query_one(
                "SELECT owned_file_uuid FROM ret0.owned_files WHERE owned_file_id = $1",
                &[&added],
            )
            .map_err(self.fail("reading back the new file"))?
            .get(0);

        let hubs = self
            .tx
            .query(
                "SELECT hub_id, hub_sid, name FROM ret0.hubs ORDER BY hub_id",
                &[],
            )
            .map_err(self.fail("listing rooms"))?;
        if hubs.len() < 2 {
            return Err(HubsError::DemoExhausted {
                target: self.target.clone(),
                what: "rename and delete",
            });
        }
        let (first, last) = (&hubs[0], &hubs[hubs.len() - 1]);
        let new_name = format!("{} (renamed)", first.get::<_, String>(2));
        self.tx
            .execute(
                "UPDATE ret0.hubs SET name = $1, updated_at = now()::timestamp(0) WHERE hub_id = $2",
                &[&new_name, &first.get::<_, i64>(0)],
            )
            .map_err(self.fail("renaming a room"))?;
        let doomed: i64 = last.get(0);
        self.tx
            .execute(
                "DELETE FROM ret0.sub_entities WHERE hub_id = $1",
                &[&doomed],
            )
            .and_then(|_| {
                self.tx
                    .execute("DELETE FROM ret0.entities WHERE hub_id = $1", &[&doomed])
            })
            .and_then(|_| {
                self.tx
                    .execute("DELETE FROM ret0.hubs WHERE hub_id = $1", &[&doomed])
            })
            .map_err(self.fail("deleting a room"))?;
        Ok(DemoMutation {
            added_owned_file: added_uuid,
            renamed_hub_sid: first.get(1),
            new_hub_name: new_name,
            deleted_hub_sid: last.get(1),
        })
    }

    /// An account with its identity and email login, `hours_ago` old.
    fn account(&mut self, name: &str, admin: bool, hours_ago: i32) -> Result<i64, HubsError> {
        let account_id: i64 = self
            .tx
            .query_one(
                "INSERT INTO ret0.accounts (inserted_at, updated_at, is_admin)
                 VALUES (now()::timestamp(0) - make_interval(hours => $1), now()::timestamp(0) - make_interval(hours => $1), $2)
                 RETURNING account_id",
                &[&hours_ago, &admin],
            )
            .map_err(self.fail("adding an account"))?
            .get(0);
        let email = format!("{}@demo.hub", name.to_lowercase());
        let identifier_hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(email.as_bytes()));
        self.tx
            .execute(
                "INSERT INTO ret0.identities (name, account_id, inserted_at, updated_at)
                 VALUES ($1, $2, now()::timestamp(0), now()::timestamp(0))",
                &[&name, &account_id],
            )
            .and_then(|_| {
                self.tx.execute(
                    "INSERT INTO ret0.logins (identifier_hash, account_id, inserted_at, updated_at)
                     VALUES ($1, $2, now()::timestamp(0), now()::timestamp(0))",
                    &[&identifier_hash, &account_id],
                )
            })
            .map_err(self.fail("adding an identity and login"))?;
        self.hub.accounts += 1;
        Ok(account_id)
    }

    /// Stores `bytes` the way `Storage.store` + `Storage.promote` leave an
    /// owned file: blob and meta under `owned/`, and a row with the key.
    fn owned_file(
        &mut self,
        account: i64,
        content_type: &str,
        bytes: &[u8],
        promotion_token: Option<String>,
    ) -> Result<i64, HubsError> {
        let key = hex_token(&mut rand::thread_rng());
        let blob = encrypt_blob(&key, self.secret_key_base, bytes);
        self.store_owned(
            account,
            content_type,
            bytes.len() as u64,
            &key,
            &blob,
            promotion_token,
        )
    }

    /// Stores a file the way `Storage.duplicate` does, from stream chunks.
    fn owned_file_from_stream(
        &mut self,
        account: i64,
        content_type: &str,
        chunks: &[&[u8]],
    ) -> Result<i64, HubsError> {
        let key = hex_token(&mut rand::thread_rng());
        let length = chunks.iter().map(|c| c.len() as u64).sum();
        let blob = encrypt_stream(&key, self.secret_key_base, length, chunks.iter().copied());
        self.store_owned(
            account,
            content_type,
            length,
            &key,
            &blob,
            Some(hex_token(&mut rand::thread_rng())),
        )
    }

    fn store_owned(
        &mut self,
        account: i64,
        content_type: &str,
        length: u64,
        key: &str,
        blob: &[u8],
        promotion_token: Option<String>,
    ) -> Result<i64, HubsError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let meta = Meta {
            content_length: length,
            content_type: content_type.to_string(),
            promotion_token,
        };
        write_file(
            &file_paths(self.storage, StorageArea::Owned, &uuid),
            blob,
            &meta,
        )?;
        let id: i64 = self
            .tx
            .query_one(
                "INSERT INTO ret0.owned_files (owned_file_uuid, key, account_id, content_type, content_length, state,
                    inserted_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'active', now()::timestamp(0), now()::timestamp(0))
                 RETURNING owned_file_id",
                &[&uuid, &key, &account, &content_type, &(length as i64)],
            )
            .map_err(self.fail("adding an owned file"))?
            .get(0);
        self.hub.owned_files += 1;
        self.hub.owned_bytes += length;
        Ok(id)
    }

    /// Stores `bytes` the way `CachedFile.fetch` does: under `cached/`, with
    /// a `cached_files` row holding the key.
    fn cached_file(
        &mut self,
        cache_key: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<(), HubsError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let key = hex_token(&mut rand::thread_rng());
        let blob = encrypt_blob(&key, self.secret_key_base, bytes);
        let meta = Meta {
            content_length: bytes.len() as u64,
            content_type: content_type.to_string(),
            promotion_token: None,
        };
        write_file(
            &file_paths(self.storage, StorageArea::Cached, &uuid),
            &blob,
            &meta,
        )?;
        self.tx
            .execute(
                "INSERT INTO ret0.cached_files (cache_key, file_uuid, file_key, file_content_type, inserted_at, updated_at, accessed_at)
                 VALUES ($1, $2, $3, $4, now()::timestamp(0), now()::timestamp(0), now()::timestamp(0))",
                &[&cache_key, &uuid, &key, &content_type],
            )
            .map_err(self.fail("adding a cached file"))?;
        self.hub.cached_files += 1;
        Ok(())
    }
}

/// `SecureRandom.hex()`: 16 random bytes as 32 hex digits (file keys, tokens).
fn hex_token(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `Ret.Sids.generate_sid()`: a short lowercase alphanumeric id.
fn sid(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..7)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn slug(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    lowered
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// " 2", " 3", … once a list of names runs out.
fn suffix(i: usize, len: usize) -> String {
    match i / len {
        0 => String::new(),
        n => format!(" {}", n + 1),
    }
}

fn random_bytes(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

fn glb(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    let mut bytes = random_bytes(rng, len.max(12));
    bytes[..4].copy_from_slice(b"glTF");
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let total = bytes.len() as u32;
    bytes[8..12].copy_from_slice(&total.to_le_bytes());
    bytes
}

fn jpeg(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    let mut bytes = random_bytes(rng, len.max(6));
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let end = bytes.len();
    bytes[end - 2..].copy_from_slice(&[0xFF, 0xD9]);
    bytes
}

fn png(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    let mut bytes = random_bytes(rng, len.max(8));
    bytes[..8].copy_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    bytes
}

fn spoke_project(name: &str) -> String {
    format!(
        "{{\"version\":4,\"root\":\"scene\",\"metadata\":{{\"name\":\"{name}\"}},\"entities\":{{\"scene\":{{\"name\":\"{name}\",\"components\":[{{\"name\":\"fog\",\"props\":{{\"type\":\"disabled\"}}}}]}},\"floor\":{{\"name\":\"Floor Plan\",\"parent\":\"scene\",\"index\":0,\"components\":[{{\"name\":\"floor-plan\",\"props\":{{}}}}]}}}}}}"
    )
}

fn avatar_gltf(name: &str) -> String {
    format!(
        "{{\"asset\":{{\"version\":\"2.0\",\"generator\":\"hubkeep demo\"}},\"scenes\":[{{\"nodes\":[0]}}],\"nodes\":[{{\"name\":\"{name}\"}}],\"buffers\":[{{\"uri\":\"avatar.bin\",\"byteLength\":30000}}]}}"
    )
}
