/**
 * Version 2: enrollment (issue 7). One-time tokens (hash only), per-device MQTT credentials,
 * and revocation in the registry.
 *
 * enrollment_tokens.token_hash is the SHA-256 of the 16 raw token bytes; the token itself is
 * only ever in the signed QR payload. consumed_at/device_id are set by the one UPDATE that
 * spends a token (cloud-bridge/enrollment/tokens.ts). device_id has no foreign key: the row is
 * updated before the device is inserted, in the same transaction.
 */
export const sql = `
CREATE TABLE enrollment_tokens (
  id           text PRIMARY KEY,
  token_hash   text NOT NULL UNIQUE,
  site_name    text NOT NULL,
  address      text,
  lat          double precision NOT NULL,
  lon          double precision NOT NULL,
  policy       text NOT NULL CHECK (policy IN ('auto', 'approve', 'never')),
  bridge_url   text NOT NULL,
  created_at   bigint NOT NULL,
  created_by   text,
  expires_at   bigint NOT NULL,
  consumed_at  bigint,
  device_id    text
);
CREATE INDEX enrollment_tokens_expires ON enrollment_tokens (expires_at) WHERE consumed_at IS NULL;

CREATE TABLE device_credentials (
  device_id      text PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  username       text NOT NULL UNIQUE,
  password_hash  text NOT NULL,
  broker         text NOT NULL CHECK (broker IN ('embedded', 'dynsec')),
  created_at     bigint NOT NULL,
  revoked_at     bigint
);

-- Set once by revocation; a revoked device cannot log in to the embedded broker, and its
-- Mosquitto client is deleted. Incident fan-out may skip devices with revoked_at set.
ALTER TABLE devices ADD COLUMN revoked_at bigint;
`;
