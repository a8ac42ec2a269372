/**
 * Version 1: the registry, incidents, evidence and operator tables.
 *
 * Times are epoch milliseconds in bigint columns (the injected Clock is the source of truth, and
 * both drivers parse int8 to a number). Spatial lookups use a GiST index on point(lon, lat): a
 * bounding-box query (`<@ box`) narrows candidates through the index, then the exact geofence test
 * runs in code with protocol/'s math. PostGIS is not available in PGlite; point/box GiST is core
 * PostgreSQL and behaves the same in both.
 */
export const sql = `
CREATE TABLE devices (
  id              text PRIMARY KEY,
  public_key      text NOT NULL,
  site_name       text NOT NULL,
  lat             double precision NOT NULL,
  lon             double precision NOT NULL,
  policy          text NOT NULL CHECK (policy IN ('auto', 'approve', 'never')),
  registered_at   bigint NOT NULL,
  status          text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'online', 'offline')),
  status_reason   text,
  status_at       bigint,
  last_seen       bigint,
  last_health_at  bigint,
  health          jsonb,
  degraded        boolean NOT NULL DEFAULT false,
  buffer_seconds  double precision,
  agent_version   text
);
CREATE INDEX devices_geo ON devices USING gist (point(lon, lat));
CREATE INDEX devices_health_at ON devices (last_health_at);

CREATE TABLE cameras (
  device_id   text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  camera_id   text NOT NULL,
  name        text,
  lat         double precision,
  lon         double precision,
  info        jsonb,
  recording   boolean,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (device_id, camera_id)
);
CREATE INDEX cameras_geo ON cameras USING gist (point(lon, lat)) WHERE lat IS NOT NULL AND lon IS NOT NULL;

CREATE TABLE health_history (
  device_id  text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at         bigint NOT NULL,
  summary    jsonb NOT NULL,
  PRIMARY KEY (device_id, at)
);

CREATE TABLE motion_episodes (
  device_id    text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  camera_id    text NOT NULL,
  episode_id   text NOT NULL,
  start_at     bigint NOT NULL,
  end_at       bigint,
  detail       jsonb,
  received_at  bigint NOT NULL,
  PRIMARY KEY (device_id, camera_id, episode_id)
);
CREATE INDEX motion_start ON motion_episodes (start_at);

CREATE TABLE incidents (
  id           text PRIMARY KEY,
  case_number  text NOT NULL,
  reason       text NOT NULL,
  area         jsonb NOT NULL,
  from_at      bigint NOT NULL,
  to_at        bigint NOT NULL,
  created_at   bigint NOT NULL,
  created_by   text,
  request      jsonb NOT NULL
);
CREATE INDEX incidents_created ON incidents (created_at);

CREATE TABLE incident_targets (
  incident_id  text NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  device_id    text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  -- The MQTT request id sent to this agent: replies are correlated by it.
  request_id   text NOT NULL UNIQUE,
  -- sent, then the agent's outcome (in-progress, done, no-cameras-in-area) or error.
  state        text NOT NULL,
  detail       text,
  -- Highest reply seq applied: an older or duplicate reply never overwrites a newer state.
  reply_seq    integer NOT NULL DEFAULT -1,
  updated_at   bigint NOT NULL,
  PRIMARY KEY (incident_id, device_id)
);

CREATE TABLE incident_cameras (
  incident_id  text NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  device_id    text NOT NULL,
  camera_id    text NOT NULL,
  state        text NOT NULL,
  detail       text,
  percent      double precision,
  updated_at   bigint NOT NULL,
  PRIMARY KEY (incident_id, device_id, camera_id)
);

CREATE TABLE uploads (
  id           text PRIMARY KEY,
  incident_id  text NOT NULL,
  device_id    text NOT NULL,
  camera_id    text NOT NULL,
  name         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('manifest', 'file')),
  size         bigint NOT NULL,
  received     bigint NOT NULL DEFAULT 0,
  state        text NOT NULL CHECK (state IN ('uploading', 'received', 'rejected')),
  sha256       text,
  detail       text,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
CREATE INDEX uploads_package ON uploads (incident_id, device_id, camera_id);

CREATE TABLE evidence_packages (
  incident_id     text NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  device_id       text NOT NULL,
  camera_id       text NOT NULL,
  manifest        jsonb NOT NULL,
  total_bytes     bigint NOT NULL,
  state           text NOT NULL CHECK (state IN ('uploading', 'finalizing', 'verified', 'rejected')),
  detail          text,
  package_sha256  text,
  received_at     bigint,
  receipt         jsonb,
  updated_at      bigint NOT NULL,
  PRIMARY KEY (incident_id, device_id, camera_id)
);

-- Every refused or failed upload, with its reason: the record the issue asks for.
CREATE TABLE evidence_events (
  id           bigserial PRIMARY KEY,
  at           bigint NOT NULL,
  incident_id  text,
  device_id    text,
  upload_id    text,
  event        text NOT NULL,
  detail       text
);

CREATE TABLE api_tokens (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('operator', 'auditor')),
  token_hash  text NOT NULL UNIQUE,
  created_at  bigint NOT NULL,
  revoked_at  bigint
);

CREATE TABLE audit (
  id        bigserial PRIMARY KEY,
  at        bigint NOT NULL,
  token_id  text,
  role      text,
  method    text NOT NULL,
  path      text NOT NULL,
  status    integer NOT NULL,
  remote    text,
  detail    jsonb
);
CREATE INDEX audit_at ON audit (at);
`;
