-- Reticulum's database schema as its migrations leave it (checked against a
-- pg_dump of a 2026 Hubs Community Edition deployment). Runs as the owner
-- role, inside schemas that role owns; roles and database grants are made
-- by the caller.

CREATE TYPE ret0.account_state AS ENUM ('enabled', 'disabled');
CREATE TYPE ret0.api_scope_type AS ENUM ('read_rooms', 'write_rooms');
CREATE TYPE ret0.api_token_subject_type AS ENUM ('app', 'account');
CREATE TYPE ret0.asset_type AS ENUM ('image', 'video', 'model', 'audio');
CREATE TYPE ret0.avatar_listing_state AS ENUM ('active', 'delisted', 'removed');
CREATE TYPE ret0.hub_binding_type AS ENUM ('discord', 'slack');
CREATE TYPE ret0.hub_entry_mode AS ENUM ('allow', 'invite', 'deny');
CREATE TYPE ret0.hub_invite_state AS ENUM ('active', 'revoked');
CREATE TYPE ret0.oauth_provider_source AS ENUM ('discord', 'slack', 'twitter');
CREATE TYPE ret0.owned_file_state AS ENUM ('active', 'inactive', 'removed');
CREATE TYPE ret0.scene_listing_state AS ENUM ('active', 'delisted');
CREATE TYPE ret0.scene_state AS ENUM ('active', 'removed');

CREATE SEQUENCE ret0.table_id_seq;

-- Instagram-style ids: milliseconds since Reticulum's epoch, shard, sequence.
CREATE FUNCTION ret0.next_id(OUT result bigint) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
our_epoch bigint := 1505706041000;
seq_id bigint;
now_millis bigint;
shard_id int := 0;
BEGIN
SELECT nextval('ret0.table_id_seq') % 1024 INTO seq_id;

SELECT FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) INTO now_millis;
result := (now_millis - our_epoch) << 23;
result := result | (shard_id << 10);
result := result | (seq_id);
END;
$$;

CREATE TABLE ret0.schema_migrations (
    version bigint NOT NULL PRIMARY KEY,
    inserted_at timestamp(0) without time zone
);

CREATE TABLE ret0.accounts (
    account_id bigint DEFAULT ret0.next_id() NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    min_token_issued_at timestamp(0) without time zone DEFAULT '1970-01-01 00:00:00'::timestamp without time zone NOT NULL,
    is_admin boolean,
    state ret0.account_state DEFAULT 'enabled'::ret0.account_state NOT NULL,
    CONSTRAINT accounts_pkey PRIMARY KEY (account_id)
);

CREATE TABLE ret0.identities (
    identity_id bigint DEFAULT ret0.next_id() NOT NULL,
    name character varying(255) NOT NULL,
    account_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (identity_id)
);

CREATE TABLE ret0.logins (
    login_id bigint DEFAULT ret0.next_id() NOT NULL,
    identifier_hash character varying(255) NOT NULL,
    account_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT logins_pkey PRIMARY KEY (login_id)
);

CREATE TABLE ret0.login_tokens (
    login_token_id bigint DEFAULT ret0.next_id() NOT NULL,
    token character varying(255),
    identifier_hash character varying(255),
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    payload_key character varying(255),
    CONSTRAINT login_tokens_pkey PRIMARY KEY (login_token_id)
);

CREATE TABLE ret0.oauth_providers (
    oauth_provider_id bigint DEFAULT ret0.next_id() NOT NULL,
    account_id bigint NOT NULL,
    source ret0.oauth_provider_source NOT NULL,
    provider_account_id character varying(255) NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    provider_access_token bytea,
    provider_access_token_secret bytea,
    CONSTRAINT oauth_providers_pkey PRIMARY KEY (oauth_provider_id)
);

CREATE TABLE ret0.api_credentials (
    api_credentials_id bigint DEFAULT ret0.next_id() NOT NULL,
    token_hash character varying(255) NOT NULL,
    api_credentials_sid character varying(255) NOT NULL,
    is_revoked boolean NOT NULL,
    scopes ret0.api_scope_type[] NOT NULL,
    subject_type ret0.api_token_subject_type NOT NULL,
    account_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT api_credentials_pkey PRIMARY KEY (api_credentials_id)
);

CREATE TABLE ret0.owned_files (
    owned_file_id bigint DEFAULT ret0.next_id() NOT NULL,
    owned_file_uuid character varying(255) NOT NULL,
    key character varying(255) NOT NULL,
    account_id bigint NOT NULL,
    content_type character varying(255) NOT NULL,
    content_length bigint NOT NULL,
    state ret0.owned_file_state DEFAULT 'active'::ret0.owned_file_state NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT owned_files_pkey PRIMARY KEY (owned_file_id)
);

CREATE TABLE ret0.cached_files (
    cached_file_id bigint DEFAULT ret0.next_id() NOT NULL,
    cache_key character varying(255) NOT NULL,
    file_uuid character varying(255) NOT NULL,
    file_key character varying(255) NOT NULL,
    file_content_type character varying(255) NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    accessed_at timestamp(0) without time zone DEFAULT now() NOT NULL,
    CONSTRAINT cached_files_pkey PRIMARY KEY (cached_file_id)
);

CREATE TABLE ret0.app_configs (
    app_config_id bigint DEFAULT ret0.next_id() NOT NULL,
    key character varying(255) NOT NULL,
    value jsonb,
    owned_file_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT app_configs_pkey PRIMARY KEY (app_config_id)
);

CREATE TABLE ret0.scenes (
    scene_id bigint DEFAULT ret0.next_id() NOT NULL,
    scene_sid character varying(255),
    slug character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    description character varying(255),
    account_id bigint NOT NULL,
    model_owned_file_id bigint NOT NULL,
    screenshot_owned_file_id bigint NOT NULL,
    state ret0.scene_state DEFAULT 'active'::ret0.scene_state NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    attribution character varying(2048),
    allow_remixing boolean DEFAULT false NOT NULL,
    allow_promotion boolean DEFAULT false NOT NULL,
    scene_owned_file_id bigint,
    attributions jsonb,
    reviewed_at timestamp(0) without time zone,
    imported_from_host character varying(255),
    imported_from_port integer,
    imported_from_sid character varying(255),
    parent_scene_id bigint,
    parent_scene_listing_id bigint,
    CONSTRAINT scenes_pkey PRIMARY KEY (scene_id)
);

CREATE TABLE ret0.scene_listings (
    scene_listing_id bigint DEFAULT ret0.next_id() NOT NULL,
    scene_listing_sid character varying(255),
    scene_id bigint NOT NULL,
    slug character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    description character varying(255),
    attributions jsonb,
    tags jsonb,
    model_owned_file_id bigint NOT NULL,
    scene_owned_file_id bigint,
    screenshot_owned_file_id bigint NOT NULL,
    "order" integer,
    state ret0.scene_listing_state DEFAULT 'active'::ret0.scene_listing_state NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT scene_listings_pkey PRIMARY KEY (scene_listing_id)
);

CREATE TABLE ret0.avatars (
    avatar_id bigint DEFAULT ret0.next_id() NOT NULL,
    avatar_sid character varying(255),
    slug character varying(255) NOT NULL,
    parent_avatar_id bigint,
    name character varying(255),
    description character varying(255),
    attributions jsonb,
    allow_remixing boolean DEFAULT false NOT NULL,
    allow_promotion boolean DEFAULT false NOT NULL,
    account_id bigint NOT NULL,
    gltf_owned_file_id bigint,
    bin_owned_file_id bigint,
    base_map_owned_file_id bigint,
    emissive_map_owned_file_id bigint,
    normal_map_owned_file_id bigint,
    orm_map_owned_file_id bigint,
    state ret0.scene_state DEFAULT 'active'::ret0.scene_state NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    thumbnail_owned_file_id bigint,
    parent_avatar_listing_id bigint,
    reviewed_at timestamp(0) without time zone,
    imported_from_host character varying(255),
    imported_from_port integer,
    imported_from_sid character varying(255),
    CONSTRAINT avatars_pkey PRIMARY KEY (avatar_id),
    CONSTRAINT gltf_or_parent_or_parent_listing CHECK (((parent_avatar_id IS NOT NULL) OR (parent_avatar_listing_id IS NOT NULL) OR ((gltf_owned_file_id IS NOT NULL) AND (bin_owned_file_id IS NOT NULL))))
);

CREATE TABLE ret0.avatar_listings (
    avatar_listing_id bigint DEFAULT ret0.next_id() NOT NULL,
    avatar_listing_sid character varying(255) NOT NULL,
    slug character varying(255) NOT NULL,
    "order" integer,
    state ret0.avatar_listing_state DEFAULT 'active'::ret0.avatar_listing_state NOT NULL,
    tags jsonb,
    avatar_id bigint,
    name character varying(255) NOT NULL,
    description character varying(255),
    attributions jsonb,
    parent_avatar_listing_id bigint,
    gltf_owned_file_id bigint,
    bin_owned_file_id bigint,
    thumbnail_owned_file_id bigint,
    base_map_owned_file_id bigint,
    emissive_map_owned_file_id bigint,
    normal_map_owned_file_id bigint,
    orm_map_owned_file_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    account_id bigint,
    CONSTRAINT avatar_listings_pkey PRIMARY KEY (avatar_listing_id),
    CONSTRAINT avatar_required_for_listed CHECK (((avatar_id IS NOT NULL) OR ((avatar_id IS NULL) AND (state = 'delisted'::ret0.avatar_listing_state))))
);

CREATE TABLE ret0.hubs (
    hub_id bigint DEFAULT ret0.next_id() NOT NULL,
    hub_sid character varying(255),
    slug character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    default_environment_gltf_bundle_url character varying(255),
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    max_occupant_count integer DEFAULT 0 NOT NULL,
    entry_mode ret0.hub_entry_mode DEFAULT 'allow'::ret0.hub_entry_mode NOT NULL,
    spawned_object_types bigint DEFAULT 0 NOT NULL,
    scene_id bigint,
    host character varying(255),
    created_by_account_id bigint,
    scene_listing_id bigint,
    creator_assignment_token character varying(255),
    last_active_at timestamp(0) without time zone,
    embed_token character varying(255),
    embedded boolean DEFAULT false,
    member_permissions integer DEFAULT 255,
    allow_promotion boolean DEFAULT false NOT NULL,
    description character varying(64000),
    room_size integer,
    user_data jsonb,
    CONSTRAINT hubs_pkey PRIMARY KEY (hub_id)
);

CREATE TABLE ret0.hub_role_memberships (
    hub_role_membership_id bigint DEFAULT ret0.next_id() NOT NULL,
    hub_id bigint,
    account_id bigint NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT hub_role_memberships_pkey PRIMARY KEY (hub_role_membership_id)
);

CREATE TABLE ret0.hub_invites (
    hub_invite_id bigint DEFAULT ret0.next_id() NOT NULL,
    hub_invite_sid character varying(255) NOT NULL,
    hub_id bigint NOT NULL,
    state ret0.hub_invite_state DEFAULT 'active'::ret0.hub_invite_state NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT hub_invites_pkey PRIMARY KEY (hub_invite_id)
);

CREATE TABLE ret0.hub_bindings (
    hub_binding_id bigint DEFAULT ret0.next_id() NOT NULL,
    hub_id bigint NOT NULL,
    type ret0.hub_binding_type NOT NULL,
    community_id character varying(255) NOT NULL,
    channel_id character varying(255) NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT hub_bindings_pkey PRIMARY KEY (hub_binding_id)
);

CREATE TABLE ret0.account_favorites (
    account_favorite_id bigint DEFAULT ret0.next_id() NOT NULL,
    account_id bigint NOT NULL,
    hub_id bigint,
    last_activated_at timestamp(0) without time zone,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT account_favorites_pkey PRIMARY KEY (account_favorite_id)
);

CREATE TABLE ret0.room_objects (
    room_object_id bigint DEFAULT ret0.next_id() NOT NULL,
    object_id character varying(255) NOT NULL,
    hub_id bigint NOT NULL,
    gltf_node bytea NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    account_id bigint,
    CONSTRAINT room_objects_pkey PRIMARY KEY (room_object_id)
);

CREATE TABLE ret0.entities (
    entity_id bigint DEFAULT ret0.next_id() NOT NULL,
    nid character varying(255) NOT NULL,
    create_message bytea NOT NULL,
    hub_id bigint NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT entities_pkey PRIMARY KEY (entity_id)
);

CREATE TABLE ret0.sub_entities (
    sub_entity_id bigint DEFAULT ret0.next_id() NOT NULL,
    nid character varying(255) NOT NULL,
    update_message bytea NOT NULL,
    hub_id bigint NOT NULL,
    entity_id bigint NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT sub_entities_pkey PRIMARY KEY (sub_entity_id)
);

CREATE TABLE ret0.web_push_subscriptions (
    web_push_subscription_id bigint DEFAULT ret0.next_id() NOT NULL,
    p256dh character varying(255) NOT NULL,
    endpoint character varying(255) NOT NULL,
    auth bytea NOT NULL,
    hub_id bigint NOT NULL,
    last_notified_at timestamp(0) without time zone,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT web_push_subscriptions_pkey PRIMARY KEY (web_push_subscription_id)
);

CREATE TABLE ret0.support_subscriptions (
    support_subscription_id bigint DEFAULT ret0.next_id() NOT NULL,
    channel character varying(255) NOT NULL,
    identifier character varying(255) NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT support_subscriptions_pkey PRIMARY KEY (support_subscription_id)
);

CREATE TABLE ret0.projects (
    project_id bigint DEFAULT ret0.next_id() NOT NULL,
    project_sid character varying(255),
    name character varying(255) NOT NULL,
    created_by_account_id bigint NOT NULL,
    project_owned_file_id bigint,
    thumbnail_owned_file_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    scene_id bigint,
    parent_scene_id bigint,
    parent_scene_listing_id bigint,
    CONSTRAINT projects_pkey PRIMARY KEY (project_id)
);

CREATE TABLE ret0.assets (
    asset_id bigint DEFAULT ret0.next_id() NOT NULL,
    asset_sid character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    type ret0.asset_type NOT NULL,
    account_id bigint NOT NULL,
    asset_owned_file_id bigint NOT NULL,
    thumbnail_owned_file_id bigint,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT assets_pkey PRIMARY KEY (asset_id)
);

CREATE TABLE ret0.project_assets (
    project_asset_id bigint DEFAULT ret0.next_id() NOT NULL,
    project_id bigint NOT NULL,
    asset_id bigint NOT NULL,
    inserted_at timestamp(0) without time zone NOT NULL,
    updated_at timestamp(0) without time zone NOT NULL,
    CONSTRAINT project_assets_pkey PRIMARY KEY (project_asset_id, project_id, asset_id)
);

-- Statistics tables are range-partitioned by month, 2018 through 2030,
-- exactly as Reticulum's migrations create them.
CREATE TABLE ret0.node_stats (
    node_id character varying(255) NOT NULL,
    measured_at timestamp(0) without time zone NOT NULL,
    present_sessions integer,
    present_rooms integer
) PARTITION BY RANGE (measured_at);

CREATE TABLE ret0.session_stats (
    session_id uuid NOT NULL,
    started_at timestamp(0) without time zone NOT NULL,
    ended_at timestamp(0) without time zone,
    entered_event_payload jsonb,
    entered_event_received_at timestamp(0) without time zone
) PARTITION BY RANGE (started_at);

DO $$
DECLARE
  y int;
  m int;
  lo timestamp;
BEGIN
  FOR y IN 2018..2030 LOOP
    FOR m IN 1..12 LOOP
      lo := make_timestamp(y, m, 1, 0, 0, 0);
      EXECUTE format('CREATE TABLE ret0.node_stats_y%s_m%s PARTITION OF ret0.node_stats FOR VALUES FROM (%L) TO (%L)',
                     y, m, lo, lo + interval '1 month');
      EXECUTE format('CREATE TABLE ret0.session_stats_y%s_m%s PARTITION OF ret0.session_stats FOR VALUES FROM (%L) TO (%L)',
                     y, m, lo, lo + interval '1 month');
      EXECUTE format('CREATE INDEX session_stats_y%s_m%s_session_id ON ret0.session_stats_y%s_m%s USING btree (session_id)',
                     y, m, y, m);
    END LOOP;
  END LOOP;
END
$$;

-- Indexes.
CREATE UNIQUE INDEX account_favorites_account_id_hub_id_index ON ret0.account_favorites USING btree (account_id, hub_id);
CREATE INDEX api_credentials_account_id_index ON ret0.api_credentials USING btree (account_id);
CREATE UNIQUE INDEX api_credentials_api_credentials_sid_index ON ret0.api_credentials USING btree (api_credentials_sid);
CREATE UNIQUE INDEX api_credentials_token_hash_index ON ret0.api_credentials USING btree (token_hash);
CREATE UNIQUE INDEX app_configs_key_index ON ret0.app_configs USING btree (key);
CREATE INDEX assets_account_id_index ON ret0.assets USING btree (account_id);
CREATE UNIQUE INDEX assets_asset_sid_index ON ret0.assets USING btree (asset_sid);
CREATE UNIQUE INDEX avatar_listings_avatar_listing_sid_index ON ret0.avatar_listings USING btree (avatar_listing_sid);
CREATE INDEX avatars_account_id_index ON ret0.avatars USING btree (account_id);
CREATE UNIQUE INDEX avatars_avatar_sid_index ON ret0.avatars USING btree (avatar_sid);
CREATE UNIQUE INDEX avatars_imported_from_host_imported_from_port_imported_from_sid ON ret0.avatars USING btree (imported_from_host, imported_from_port, imported_from_sid);
CREATE INDEX avatars_reviewed_at_index ON ret0.avatars USING btree (reviewed_at) WHERE ((reviewed_at IS NULL) OR (reviewed_at < updated_at));
CREATE UNIQUE INDEX cached_files_cache_key_index ON ret0.cached_files USING btree (cache_key);
CREATE INDEX entities_hub_id_index ON ret0.entities USING btree (hub_id);
CREATE UNIQUE INDEX entities_nid_hub_id_index ON ret0.entities USING btree (nid, hub_id);
CREATE INDEX entities_nid_index ON ret0.entities USING btree (nid);
CREATE UNIQUE INDEX hub_bindings_type_community_id_channel_id_index ON ret0.hub_bindings USING btree (type, community_id, channel_id);
CREATE UNIQUE INDEX hub_invites_hub_invite_sid_index ON ret0.hub_invites USING btree (hub_invite_sid);
CREATE UNIQUE INDEX hub_role_memberships_hub_id_account_id_index ON ret0.hub_role_memberships USING btree (hub_id, account_id);
CREATE INDEX hubs_allow_promotion_index ON ret0.hubs USING btree (allow_promotion);
CREATE INDEX hubs_created_by_account_id_index ON ret0.hubs USING btree (created_by_account_id);
CREATE INDEX hubs_host_inserted_at_index ON ret0.hubs USING btree (host, inserted_at) WHERE (host IS NOT NULL);
CREATE UNIQUE INDEX hubs_hub_sid_index ON ret0.hubs USING btree (hub_sid);
CREATE INDEX hubs_last_active_at_index ON ret0.hubs USING btree (last_active_at);
CREATE UNIQUE INDEX identities_account_id_index ON ret0.identities USING btree (account_id);
CREATE UNIQUE INDEX login_tokens_token_index ON ret0.login_tokens USING btree (token);
CREATE UNIQUE INDEX logins_account_id_index ON ret0.logins USING btree (account_id);
CREATE UNIQUE INDEX logins_identifier_hash_index ON ret0.logins USING btree (identifier_hash);
CREATE UNIQUE INDEX oauth_providers_source_account_id_index ON ret0.oauth_providers USING btree (source, account_id);
CREATE UNIQUE INDEX oauth_providers_source_provider_account_id_index ON ret0.oauth_providers USING btree (source, provider_account_id);
CREATE INDEX owned_files_account_id_index ON ret0.owned_files USING btree (account_id);
CREATE UNIQUE INDEX owned_files_owned_file_uuid_index ON ret0.owned_files USING btree (owned_file_uuid);
CREATE INDEX project_assets_asset_id_index ON ret0.project_assets USING btree (asset_id);
CREATE INDEX project_assets_project_id_index ON ret0.project_assets USING btree (project_id);
CREATE UNIQUE INDEX project_id_asset_id_unique_index ON ret0.project_assets USING btree (project_id, asset_id);
CREATE INDEX projects_created_by_account_id_index ON ret0.projects USING btree (created_by_account_id);
CREATE UNIQUE INDEX projects_project_sid_index ON ret0.projects USING btree (project_sid);
CREATE INDEX room_objects_hub_id_index ON ret0.room_objects USING btree (hub_id);
CREATE UNIQUE INDEX room_objects_object_id_hub_id_index ON ret0.room_objects USING btree (object_id, hub_id);
CREATE UNIQUE INDEX scene_listings_scene_listing_sid_index ON ret0.scene_listings USING btree (scene_listing_sid);
CREATE INDEX scenes_account_id_index ON ret0.scenes USING btree (account_id);
CREATE UNIQUE INDEX scenes_imported_from_host_imported_from_port_imported_from_sid_ ON ret0.scenes USING btree (imported_from_host, imported_from_port, imported_from_sid);
CREATE INDEX scenes_reviewed_at_index ON ret0.scenes USING btree (reviewed_at) WHERE ((reviewed_at IS NULL) OR (reviewed_at < updated_at));
CREATE UNIQUE INDEX scenes_scene_sid_index ON ret0.scenes USING btree (scene_sid);
CREATE INDEX sub_entities_hub_id_index ON ret0.sub_entities USING btree (hub_id);
CREATE UNIQUE INDEX sub_entities_nid_hub_id_index ON ret0.sub_entities USING btree (nid, hub_id);
CREATE INDEX sub_entities_nid_index ON ret0.sub_entities USING btree (nid);
CREATE UNIQUE INDEX support_subscriptions_channel_identifier_index ON ret0.support_subscriptions USING btree (channel, identifier);
CREATE INDEX web_push_subscriptions_endpoint_index ON ret0.web_push_subscriptions USING btree (endpoint);
CREATE UNIQUE INDEX web_push_subscriptions_hub_id_endpoint_index ON ret0.web_push_subscriptions USING btree (hub_id, endpoint);

-- Foreign keys.
ALTER TABLE ret0.account_favorites ADD CONSTRAINT account_favorites_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.account_favorites ADD CONSTRAINT account_favorites_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;
ALTER TABLE ret0.api_credentials ADD CONSTRAINT api_credentials_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.assets ADD CONSTRAINT assets_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_base_map_owned_file_id_fkey FOREIGN KEY (base_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_bin_owned_file_id_fkey FOREIGN KEY (bin_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_emissive_map_owned_file_id_fkey FOREIGN KEY (emissive_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_gltf_owned_file_id_fkey FOREIGN KEY (gltf_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_normal_map_owned_file_id_fkey FOREIGN KEY (normal_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_orm_map_owned_file_id_fkey FOREIGN KEY (orm_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_parent_avatar_listing_id_fkey FOREIGN KEY (parent_avatar_listing_id) REFERENCES ret0.avatar_listings(avatar_listing_id);
ALTER TABLE ret0.avatar_listings ADD CONSTRAINT avatar_listings_thumbnail_owned_file_id_fkey FOREIGN KEY (thumbnail_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_base_map_owned_file_id_fkey FOREIGN KEY (base_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_bin_owned_file_id_fkey FOREIGN KEY (bin_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_emissive_map_owned_file_id_fkey FOREIGN KEY (emissive_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_gltf_owned_file_id_fkey FOREIGN KEY (gltf_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_normal_map_owned_file_id_fkey FOREIGN KEY (normal_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_orm_map_owned_file_id_fkey FOREIGN KEY (orm_map_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_parent_avatar_id_fkey FOREIGN KEY (parent_avatar_id) REFERENCES ret0.avatars(avatar_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_parent_avatar_listing_id_fkey FOREIGN KEY (parent_avatar_listing_id) REFERENCES ret0.avatar_listings(avatar_listing_id);
ALTER TABLE ret0.avatars ADD CONSTRAINT avatars_thumbnail_owned_file_id_fkey FOREIGN KEY (thumbnail_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.entities ADD CONSTRAINT entities_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id);
ALTER TABLE ret0.hub_bindings ADD CONSTRAINT hub_bindings_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;
ALTER TABLE ret0.hub_invites ADD CONSTRAINT hub_invites_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;
ALTER TABLE ret0.hub_role_memberships ADD CONSTRAINT hub_role_memberships_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.hub_role_memberships ADD CONSTRAINT hub_role_memberships_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;
ALTER TABLE ret0.hubs ADD CONSTRAINT hubs_created_by_account_id_fkey FOREIGN KEY (created_by_account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.hubs ADD CONSTRAINT hubs_scene_id_fkey FOREIGN KEY (scene_id) REFERENCES ret0.scenes(scene_id) ON DELETE CASCADE;
ALTER TABLE ret0.hubs ADD CONSTRAINT hubs_scene_listing_id_fkey FOREIGN KEY (scene_listing_id) REFERENCES ret0.scene_listings(scene_listing_id);
ALTER TABLE ret0.identities ADD CONSTRAINT identities_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.logins ADD CONSTRAINT logins_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.oauth_providers ADD CONSTRAINT oauth_providers_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.project_assets ADD CONSTRAINT project_assets_asset_id_fkey FOREIGN KEY (asset_id) REFERENCES ret0.assets(asset_id) ON DELETE CASCADE;
ALTER TABLE ret0.project_assets ADD CONSTRAINT project_assets_project_id_fkey FOREIGN KEY (project_id) REFERENCES ret0.projects(project_id) ON DELETE CASCADE;
ALTER TABLE ret0.projects ADD CONSTRAINT projects_created_by_account_id_fkey FOREIGN KEY (created_by_account_id) REFERENCES ret0.accounts(account_id);
ALTER TABLE ret0.projects ADD CONSTRAINT projects_parent_scene_id_fkey FOREIGN KEY (parent_scene_id) REFERENCES ret0.scenes(scene_id);
ALTER TABLE ret0.projects ADD CONSTRAINT projects_parent_scene_listing_id_fkey FOREIGN KEY (parent_scene_listing_id) REFERENCES ret0.scene_listings(scene_listing_id);
ALTER TABLE ret0.projects ADD CONSTRAINT projects_scene_id_fkey FOREIGN KEY (scene_id) REFERENCES ret0.scenes(scene_id);
ALTER TABLE ret0.room_objects ADD CONSTRAINT room_objects_account_id_fkey FOREIGN KEY (account_id) REFERENCES ret0.accounts(account_id) ON DELETE CASCADE;
ALTER TABLE ret0.room_objects ADD CONSTRAINT room_objects_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;
ALTER TABLE ret0.scenes ADD CONSTRAINT scenes_parent_scene_id_fkey FOREIGN KEY (parent_scene_id) REFERENCES ret0.scenes(scene_id) ON DELETE CASCADE;
ALTER TABLE ret0.scenes ADD CONSTRAINT scenes_parent_scene_listing_id_fkey FOREIGN KEY (parent_scene_listing_id) REFERENCES ret0.scene_listings(scene_listing_id);
ALTER TABLE ret0.scenes ADD CONSTRAINT scenes_scene_owned_file_id_fkey FOREIGN KEY (scene_owned_file_id) REFERENCES ret0.owned_files(owned_file_id);
ALTER TABLE ret0.sub_entities ADD CONSTRAINT sub_entities_entity_id_fkey FOREIGN KEY (entity_id) REFERENCES ret0.entities(entity_id) ON DELETE CASCADE;
ALTER TABLE ret0.sub_entities ADD CONSTRAINT sub_entities_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id);
ALTER TABLE ret0.web_push_subscriptions ADD CONSTRAINT web_push_subscriptions_hub_id_fkey FOREIGN KEY (hub_id) REFERENCES ret0.hubs(hub_id) ON DELETE CASCADE;

-- coturn's long-term credential tables (migration 20200413202224).
CREATE TABLE coturn.turn_secret (realm varchar(127), value varchar(256), inserted_at timestamp, updated_at timestamp);
CREATE TABLE coturn.allowed_peer_ip (realm varchar(127), ip_range varchar(256), inserted_at timestamp, updated_at timestamp);
CREATE TABLE coturn.denied_peer_ip (realm varchar(127), ip_range varchar(256), inserted_at timestamp, updated_at timestamp);

-- The admin console's PostgREST views (migration 20190904000046): one view
-- per table, built from its columns, plus the review queues.
CREATE FUNCTION ret0_admin.create_or_replace_admin_view(name text, extra_columns text DEFAULT ''::text, extra_clauses text DEFAULT ''::text) RETURNS void
    LANGUAGE plpgsql
    AS $$
declare
pk character varying(255);
begin

-- Get the primary key
SELECT
  pg_attribute.attname into pk
FROM pg_index, pg_class, pg_attribute, pg_namespace
WHERE
  pg_class.oid = ('ret0.' || name)::regclass AND
  indrelid = pg_class.oid AND
  nspname = 'ret0' AND
  pg_class.relnamespace = pg_namespace.oid AND
  pg_attribute.attrelid = pg_class.oid AND
  pg_attribute.attnum = any(pg_index.indkey)
 AND indisprimary;

execute 'create or replace view ret0_admin.' || name
|| ' as (select ' || pk || ' as id, '
|| ' cast(' || pk || ' as varchar) as _text_id, '
|| array_to_string(ARRAY(SELECT 'o' || '.' || c.column_name
        FROM information_schema.columns As c
            WHERE table_name = name AND table_schema = 'ret0'
            AND  c.column_name NOT IN(pk) ORDER BY ordinal_position
    ), ',') || extra_columns ||
				' from ret0.' || name || ' as o ' || extra_clauses || ')';

end

$$;

SELECT ret0_admin.create_or_replace_admin_view('scenes');
SELECT ret0_admin.create_or_replace_admin_view('accounts');
SELECT ret0_admin.create_or_replace_admin_view('owned_files');
SELECT ret0_admin.create_or_replace_admin_view('scene_listings', ', cast(o.scene_id as varchar) as _scene_id');
SELECT ret0_admin.create_or_replace_admin_view('avatars');
SELECT ret0_admin.create_or_replace_admin_view('avatar_listings', ', cast(o.avatar_id as varchar) as _avatar_id');
SELECT ret0_admin.create_or_replace_admin_view('projects');
SELECT ret0_admin.create_or_replace_admin_view('identities', ', cast(o.account_id as varchar) as _account_id');

CREATE VIEW ret0_admin.pending_scenes AS (
    select scenes.id, scene_sid, scenes.slug, scenes.name, scenes.description, scenes.screenshot_owned_file_id, scenes.model_owned_file_id, scenes.scene_owned_file_id,
    scenes.attributions, scene_listings.id as scene_listing_id, scenes.updated_at, scenes.allow_remixing as _allow_remixing, scenes.allow_promotion as _allow_promotion
    from ret0_admin.scenes
    left outer join ret0_admin.scene_listings on scene_listings.scene_id = scenes.id
    where ((scenes.reviewed_at is null or scenes.reviewed_at < scenes.updated_at) and scenes.allow_promotion and scenes.state = 'active')
);

CREATE VIEW ret0_admin.featured_scene_listings AS (
    select id, scene_listing_sid, slug, name, description, screenshot_owned_file_id, model_owned_file_id, scene_owned_file_id, attributions, scene_listings.order, tags
    from ret0_admin.scene_listings
    where state = 'active' and tags->'tags' ? 'featured' and
    exists (select id from ret0_admin.scenes s where s.id = scene_listings.scene_id and s.state = 'active' and s.allow_promotion)
);

CREATE VIEW ret0_admin.pending_avatars AS (
    select avatars.id, avatar_sid, avatars.slug, avatars.name, avatars.description, avatars.thumbnail_owned_file_id,
    avatars.base_map_owned_file_id, avatars.emissive_map_owned_file_id, avatars.normal_map_owned_file_id, avatars.orm_map_owned_file_id,
    avatars.attributions, avatar_listings.id as avatar_listing_id, avatars.updated_at, avatars.allow_remixing as allow_remixing, avatars.allow_promotion as allow_promotion,
    avatars.gltf_owned_file_id, avatars.bin_owned_file_id, avatars.parent_avatar_listing_id
    from ret0_admin.avatars
    left outer join ret0_admin.avatar_listings on avatar_listings.avatar_id = avatars.id
    where ((avatars.reviewed_at is null or avatars.reviewed_at < avatars.updated_at) and avatars.allow_promotion and avatars.state = 'active')
);

CREATE VIEW ret0_admin.featured_avatar_listings AS (
    select id, avatar_listing_sid, slug, name, description, thumbnail_owned_file_id,
    base_map_owned_file_id, emissive_map_owned_file_id, normal_map_owned_file_id, orm_map_owned_file_id,
    attributions, avatar_listings.order, updated_at, tags, gltf_owned_file_id, bin_owned_file_id, parent_avatar_listing_id
    from ret0_admin.avatar_listings
    where state = 'active' and tags->'tags' ? 'featured' and
    exists (select id from ret0_admin.avatars s where s.id = avatar_listings.avatar_id and s.state = 'active' and s.allow_promotion)
);

GRANT USAGE ON SCHEMA ret0_admin TO ret_admin;
GRANT USAGE ON SCHEMA ret0 TO ret_admin;
GRANT USAGE ON SEQUENCE ret0.table_id_seq TO ret_admin;
GRANT SELECT, INSERT, UPDATE ON ret0_admin.scenes, ret0_admin.accounts, ret0_admin.owned_files,
    ret0_admin.scene_listings, ret0_admin.avatars, ret0_admin.avatar_listings TO ret_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ret0_admin.projects, ret0_admin.identities TO ret_admin;
GRANT SELECT ON ret0_admin.pending_scenes, ret0_admin.pending_avatars TO ret_admin;
GRANT SELECT, UPDATE ON ret0_admin.featured_scene_listings, ret0_admin.featured_avatar_listings TO ret_admin;
