/**
 * The durable nonce store behind the replay check (protocol/incident-verify.ts is pure and asks
 * `seenNonce`; this file remembers).
 *
 * Bounded by time, not by count: a nonce is kept until its request's expiresAt + maxSkewMs,
 * after which verifyIncident refuses the request as `expired` anyway, so forgetting it cannot
 * re-open a replay. verifyIncident also refuses validity over maxValidityMs, so no entry lives
 * longer than maxValidityMs + 2 x maxSkewMs past its issue time. Only requests that passed the
 * signature and time checks reach the store (the gate consults it last), so forged traffic
 * cannot fill it; the RTCC's own issue rate bounds its size.
 *
 * A nonce is recorded (fsynced) before anything is acted on: a crash after the record and
 * before the reply leaves the request used, never usable twice.
 */
import path from 'node:path';
import { z } from 'zod';
import type { Low } from 'lowdb';
import { openDoc } from './durable-doc.js';

const NonceDoc = z.strictObject({
  v: z.literal(1),
  /** nonce → epoch ms after which it may be forgotten. */
  nonces: z.record(z.string(), z.number()),
});
type NonceDoc = z.infer<typeof NonceDoc>;

export const NONCE_FILE = 'nonces.json';

export class NonceStore {
  private constructor(private readonly db: Low<NonceDoc>) {}

  static async open(stateDir: string): Promise<NonceStore> {
    return new NonceStore(await openDoc(path.join(stateDir, NONCE_FILE), NonceDoc, { v: 1, nonces: {} }));
  }

  /** True when this nonce was accepted before (and is not yet forgettable). */
  seen(nonce: string): boolean {
    return Object.hasOwn(this.db.data.nonces, nonce);
  }

  /** Records a nonce durably, and forgets those whose requests can no longer be valid. */
  async record(nonce: string, forgetAfter: number, now: number): Promise<void> {
    const kept: Record<string, number> = {};
    for (const [n, until] of Object.entries(this.db.data.nonces)) if (until > now) kept[n] = until;
    kept[nonce] = forgetAfter;
    this.db.data = { v: 1, nonces: kept };
    await this.db.write();
  }

  size(): number {
    return Object.keys(this.db.data.nonces).length;
  }
}
