/**
 * One-time enrollment tokens.
 *
 * A token is 16 random bytes (128 bits, the QR payload's field). Only its SHA-256 is stored, so
 * a copy of the database enrolls nothing; a plain hash suffices because 128 random bits cannot
 * be guessed (the same reasoning as the operator API tokens in http/auth.ts).
 *
 * Consumption is one statement, `UPDATE ... WHERE token_hash = $1 AND consumed_at IS NULL AND
 * expires_at > $now RETURNING ...`: under concurrent use PostgreSQL's row lock makes exactly one
 * caller see the row (the other re-checks `consumed_at IS NULL` after the first commits and gets
 * nothing), and when run inside the enrollment transaction a later failure rolls the
 * consumption back with everything else. Times are epoch ms from the bridge's injected Clock
 * (not SQL now()), like every other timestamp of the bridge, so tests can move time.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { TOKEN_BYTES, type Policy } from '../../provisioning/payload.js';

export interface TokenSite {
  site: string;
  address: string | null;
  lat: number;
  lon: number;
  policy: Policy;
  bridgeUrl: string;
}

export interface IssuedToken {
  id: string;
  /** Raw token, base64url. Goes into the QR payload and nowhere else. */
  token: string;
  /** Whole seconds (the QR payload's resolution). */
  expiresAt: number;
}

export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(Buffer.from(token, 'base64url')).digest('hex');
}

export async function issueToken(
  db: Queryable,
  site: TokenSite,
  ttlMs: number,
  now: number,
  createdBy: string | null,
): Promise<IssuedToken> {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  const id = randomUUID();
  const expiresAt = Math.floor((now + ttlMs) / 1000) * 1000;
  await db.query(
    `INSERT INTO enrollment_tokens (id, token_hash, site_name, address, lat, lon, policy, bridge_url, created_at, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      id,
      hashEnrollmentToken(token),
      site.site,
      site.address,
      site.lat,
      site.lon,
      site.policy,
      site.bridgeUrl,
      now,
      createdBy,
      expiresAt,
    ],
  );
  return { id, token, expiresAt };
}

export type ConsumeFailure = 'unknown' | 'used' | 'expired';

export class TokenRefused extends Error {
  constructor(readonly why: ConsumeFailure) {
    super(
      why === 'used'
        ? 'this enrollment code was already used; ask the RTCC for a new one'
        : why === 'expired'
          ? 'this enrollment code has expired; ask the RTCC for a new one'
          : 'this enrollment code is not known to this bridge (revoked, or issued by another bridge)',
    );
    this.name = 'TokenRefused';
  }
}

interface TokenRow {
  id: string;
  site_name: string;
  address: string | null;
  lat: number;
  lon: number;
  policy: Policy;
  bridge_url: string;
}

/**
 * Spends the token for `deviceId` and returns what it was issued for, or throws TokenRefused
 * saying why not. Run it inside the enrollment transaction.
 */
export async function consumeToken(
  tx: Queryable,
  token: string,
  deviceId: string,
  now: number,
): Promise<TokenRow> {
  const hash = hashEnrollmentToken(token);
  const rows = await tx.query<TokenRow>(
    `UPDATE enrollment_tokens SET consumed_at = $2, device_id = $3
     WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > $2
     RETURNING id, site_name, address, lat, lon, policy, bridge_url`,
    [hash, now, deviceId],
  );
  const row = rows[0];
  if (row) return row;
  // Only to word the refusal: the decision was the UPDATE above.
  const seen = await tx.query<{ consumed_at: number | null }>(
    'SELECT consumed_at FROM enrollment_tokens WHERE token_hash = $1',
    [hash],
  );
  const first = seen[0];
  throw new TokenRefused(!first ? 'unknown' : first.consumed_at !== null ? 'used' : 'expired');
}
