/**
 * What keeps the setup page to the owner: the device's setup code, sessions, a limit on wrong
 * guesses, and the rule that the page is served on private (LAN) addresses only.
 *
 * The code is printed once, when it is created, and otherwise lives only in
 * `<dataDir>/setup-code` (0600): whoever can read that file already owns the box. It is never
 * logged and never sent to the browser.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';

export const SETUP_CODE_FILE = 'setup-code';
/** No 0/O, 1/I/L: the code is read off a screen or a label and typed by hand. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 10;

export function generateSetupCode(): string {
  let s = '';
  for (let i = 0; i < CODE_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** Upper case without spaces or dashes, so "abcd-efgh-jk" is accepted for "ABCDEFGHJK". */
export function normaliseCode(s: string): string {
  return s.replace(/[\s-]/g, '').toUpperCase();
}

/**
 * Reads the code, or creates it (mode 0600 from the first byte, O_EXCL so two starts cannot both
 * create one). `created` tells the caller to show it once.
 */
export async function loadOrCreateSetupCode(dataDir: string): Promise<{ code: string; created: boolean }> {
  const file = path.join(dataDir, SETUP_CODE_FILE);
  try {
    const code = normaliseCode(await readFile(file, 'utf8'));
    if (code.length >= 8) return { code, created: false };
    throw new Error(`${file} holds no usable setup code: delete it to have a new one made`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const code = generateSetupCode();
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(code + '\n', 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { code, created: true };
}

/**
 * Constant-time comparison: both sides are hashed first so the lengths match and the time
 * taken says nothing about how much of a guess was right.
 */
export function codeMatches(given: string, code: string): boolean {
  const a = createHash('sha256').update(normaliseCode(given)).digest();
  const b = createHash('sha256').update(normaliseCode(code)).digest();
  return timingSafeEqual(a, b);
}

/** Session tokens held in memory: a restart logs everyone out, which is fine for a setup page. */
export class Sessions {
  private readonly tokens = new Map<string, number>();
  constructor(
    private readonly now: () => number,
    readonly ttlMs = 8 * 3600_000,
  ) {}

  create(): string {
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, this.now() + this.ttlMs);
    return token;
  }

  valid(token: string | undefined): boolean {
    if (!token) return false;
    const until = this.tokens.get(token);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  revoke(token: string | undefined): void {
    if (token) this.tokens.delete(token);
  }
}

/**
 * Wrong codes per client address and in total, in a sliding window. The total cap stops a
 * guesser who spreads attempts over many LAN addresses; 31^10 codes make guessing hopeless
 * at these rates anyway, the cap just keeps it that way.
 */
export class GuessLimiter {
  private readonly failures = new Map<string, number[]>();
  private all: number[] = [];
  constructor(
    private readonly now: () => number,
    readonly perClient = 5,
    readonly total = 30,
    readonly windowMs = 15 * 60_000,
  ) {}

  /** Milliseconds until this client may try again; 0 when it may now. */
  retryAfterMs(client: string): number {
    const t = this.now();
    const cut = t - this.windowMs;
    this.all = this.all.filter((x) => x > cut);
    const mine = (this.failures.get(client) ?? []).filter((x) => x > cut);
    this.failures.set(client, mine);
    const waits: number[] = [];
    if (mine.length >= this.perClient) waits.push(mine[mine.length - this.perClient]! + this.windowMs - t);
    if (this.all.length >= this.total)
      waits.push(this.all[this.all.length - this.total]! + this.windowMs - t);
    return waits.length ? Math.max(1, ...waits) : 0;
  }

  fail(client: string): void {
    const t = this.now();
    this.all.push(t);
    this.failures.set(client, [...(this.failures.get(client) ?? []), t]);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}

/** IPv4 private, loopback and link-local; IPv6 loopback, unique-local and link-local. */
export function isPrivateAddress(addr: string): boolean {
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  if (isIP(a) === 4) {
    const [p, q] = a.split('.').map(Number) as [number, number];
    return (
      p === 10 ||
      p === 127 ||
      (p === 172 && q >= 16 && q <= 31) ||
      (p === 192 && q === 168) ||
      (p === 169 && q === 254)
    );
  }
  if (isIP(a) === 6) {
    const l = a.toLowerCase();
    return l === '::1' || /^f[cd][0-9a-f]{2}:/.test(l) || /^fe[89ab][0-9a-f]:/.test(l);
  }
  return false;
}

/**
 * Where the page may listen: a private address, or a wildcard (0.0.0.0 / ::), which means "every
 * interface, but answer only clients with private addresses" (checked per request). A public
 * address is refused: the appliance opens no port to the internet.
 */
export function checkBindHost(host: string): void {
  if (host === 'localhost' || host === '0.0.0.0' || host === '::') return;
  if (!isPrivateAddress(host)) {
    throw new Error(
      `the setup page listens on the LAN only: ${host} is not a private address ` +
        '(use a 10.x, 172.16-31.x, 192.168.x or loopback address, or 0.0.0.0 for every LAN interface)',
    );
  }
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
