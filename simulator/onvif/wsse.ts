/**
 * WS-Security UsernameToken checks for the simulated device (OASIS WSS
 * UsernameToken Profile 1.0, which ONVIF Core 5.12 requires devices to accept).
 *
 * §3.1: the token carries Username, Password (Type #PasswordText or
 * #PasswordDigest, text when Type is absent), an optional base64 Nonce and an
 * optional wsu:Created. PasswordDigest = Base64(SHA-1(nonce + created + password)),
 * with the nonce as raw bytes. §3.1 also recommends that a receiver rejects a
 * Created too far from its own clock and a nonce it has already seen: that is
 * what makes a captured header useless for replay.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { child, text, attr, type XmlNode } from './soap.js';

const PASSWORD_DIGEST = '#PasswordDigest';
const PASSWORD_TEXT = '#PasswordText';

/** Freshness window around the device clock (either side). */
export const CREATED_WINDOW_MS = 5 * 60_000;

/** Base64(SHA-1(nonce bytes + Created + password)), UsernameToken Profile 1.0 §3.1. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

export interface UsernameToken {
  username: string;
  password: string;
  type: 'digest' | 'text';
  /** Base64 as sent. */
  nonce?: string;
  created?: string;
}

/** Extracts the UsernameToken from a parsed SOAP Header (any prefixes), or undefined. */
export function readUsernameToken(header: XmlNode | undefined): UsernameToken | undefined {
  const token = child(child(header, 'Security'), 'UsernameToken');
  if (token === undefined) return undefined;
  const pw = child(token, 'Password');
  const type = attr(pw, 'Type') ?? '';
  return {
    username: text(token, 'Username') ?? '',
    password: text(pw) ?? '',
    type: type.endsWith(PASSWORD_DIGEST) ? 'digest' : 'text',
    nonce: text(token, 'Nonce'),
    created: text(token, 'Created'),
  };
}

export type TokenVerdict =
  | { ok: true; username: string }
  /** `why` is for debug logs only: it never carries the password or the digest. */
  | { ok: false; why: 'no-token' | 'unknown-user' | 'bad-password' | 'stale' | 'replay' | 'malformed' };

function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * Checks tokens for one account. Nonces that passed are remembered until they
 * fall out of the freshness window (a replay of an older one is already stale).
 */
export class UsernameTokenVerifier {
  /** nonce (base64) → device time after which it can be forgotten. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly account: { username: string; password: string },
    /** The device clock in ms (real time plus the device's offset). */
    private readonly deviceNow: () => number,
    private readonly maxNonces = 50_000,
  ) {}

  verify(token: UsernameToken | undefined): TokenVerdict {
    if (!token) return { ok: false, why: 'no-token' };
    if (!sameText(token.username, this.account.username)) return { ok: false, why: 'unknown-user' };
    const now = this.deviceNow();
    let nonce: Buffer | undefined;
    if (token.nonce !== undefined) {
      nonce = Buffer.from(token.nonce, 'base64');
      if (nonce.length === 0) return { ok: false, why: 'malformed' };
    }
    if (token.created !== undefined) {
      const created = Date.parse(token.created);
      if (Number.isNaN(created)) return { ok: false, why: 'malformed' };
      if (Math.abs(created - now) > CREATED_WINDOW_MS) return { ok: false, why: 'stale' };
    }
    if (token.type === 'digest') {
      // A digest without both nonce and Created could be replayed forever: refuse it.
      if (!nonce || token.created === undefined) return { ok: false, why: 'malformed' };
      const expected = passwordDigest(nonce, token.created, this.account.password);
      if (!sameText(token.password, expected)) return { ok: false, why: 'bad-password' };
    } else if (!sameText(token.password, this.account.password)) {
      return { ok: false, why: 'bad-password' };
    }
    if (token.nonce !== undefined) {
      this.expire(now);
      if (this.seen.has(token.nonce)) return { ok: false, why: 'replay' };
      const created = token.created !== undefined ? Date.parse(token.created) : now;
      this.seen.set(token.nonce, Math.max(created, now) + CREATED_WINDOW_MS);
      if (this.seen.size > this.maxNonces) {
        // Map iteration is insertion order: drop the oldest entry to bound memory.
        const oldest = this.seen.keys().next();
        if (!oldest.done) this.seen.delete(oldest.value);
      }
    }
    return { ok: true, username: this.account.username };
  }

  /** Nonces currently remembered (for tests and health). */
  rememberedNonces(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    // Entries are in arrival order, so expiry times are nearly sorted: stop at the first
    // live one. A few late expiries linger a little; they would be refused as stale anyway.
    for (const [nonce, until] of this.seen) {
      if (until >= now) break;
      this.seen.delete(nonce);
    }
  }
}

/** Builds a UsernameToken header block (used by tests and by the agent's own client later). */
export function usernameTokenHeader(
  username: string,
  password: string,
  opts: { nonce: Buffer; created: string; type?: 'digest' | 'text' },
): string {
  const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const digest = (opts.type ?? 'digest') === 'digest';
  const pw = digest ? passwordDigest(opts.nonce, opts.created, password) : password;
  const profile = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
  return (
    '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
    'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">' +
    `<wsse:UsernameToken><wsse:Username>${x(username)}</wsse:Username>` +
    `<wsse:Password Type="${profile}${digest ? PASSWORD_DIGEST : PASSWORD_TEXT}">${x(pw)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">` +
    `${opts.nonce.toString('base64')}</wsse:Nonce><wsu:Created>${x(opts.created)}</wsu:Created>` +
    '</wsse:UsernameToken></wsse:Security>'
  );
}
