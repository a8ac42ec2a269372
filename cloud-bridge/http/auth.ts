/**
 * Operator API tokens. A token is 32 random bytes (base64url) with a `ccb_` prefix so it is easy
 * to spot in a leaked file. Only its SHA-256 is stored: a stolen database gives no usable token.
 * A plain hash (not a slow password hash) is enough because the token has 256 bits of entropy;
 * there is nothing to brute-force. Comparison happens by equality on the hash in SQL, so no
 * timing side channel reveals a prefix of a stored token.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Queryable } from '../db/db.js';
import { HttpError } from './problem.js';

export type Role = 'operator' | 'auditor';
export const ROLES: readonly Role[] = ['operator', 'auditor'];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates a token and returns it once; the caller shows it to the operator and forgets it. */
export async function createApiToken(
  db: Queryable,
  name: string,
  role: Role,
  now: number,
): Promise<{ id: string; token: string }> {
  const token = `ccb_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await db.query(
    'INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
    [id, name, role, hashToken(token), now],
  );
  return { id, token };
}

export async function revokeApiToken(db: Queryable, id: string, now: number): Promise<boolean> {
  const rows = await db.query(
    'UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id, now],
  );
  return rows.length > 0;
}

export async function countApiTokens(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM api_tokens WHERE revoked_at IS NULL',
  );
  return rows[0]?.n ?? 0;
}

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1) and resolves the principal. */
export async function authenticate(db: Queryable, req: IncomingMessage): Promise<Principal> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+([A-Za-z0-9_.~+/-]+=*)\s*$/i.exec(header);
  if (!match?.[1])
    throw new HttpError(401, 'unauthenticated', 'an API token is required (Authorization: Bearer ...)');
  const rows = await db.query<{ id: string; name: string; role: Role }>(
    'SELECT id, name, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(match[1])],
  );
  const row = rows[0];
  if (!row) throw new HttpError(401, 'unauthenticated', 'the API token is unknown or revoked');
  return { tokenId: row.id, name: row.name, role: row.role };
}
