import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkBindHost,
  codeMatches,
  CODE_LENGTH,
  generateSetupCode,
  GuessLimiter,
  isPrivateAddress,
  loadOrCreateSetupCode,
  readCookie,
  Sessions,
} from '../../agent/setup/auth.js';
import { liveArgs } from '../../agent/setup/live.js';

describe('setup code', () => {
  it('is generated from an unambiguous alphabet and accepted however it is typed', () => {
    const code = generateSetupCode();
    expect(code).toMatch(new RegExp(`^[A-HJKMNP-Z2-9]{${CODE_LENGTH}}$`));
    expect(codeMatches(`${code.slice(0, 5).toLowerCase()}-${code.slice(5)}`, code)).toBe(true);
    expect(codeMatches(` ${code} `, code)).toBe(true);
    expect(codeMatches(code.slice(0, -1), code)).toBe(false);
    expect(codeMatches('', code)).toBe(false);
  });

  it('is created once with mode 0600 and read back afterwards', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'setup-code-'));
    const first = await loadOrCreateSetupCode(dir);
    expect(first.created).toBe(true);
    expect(statSync(path.join(dir, 'setup-code')).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSetupCode(dir);
    expect(again).toEqual({ code: first.code, created: false });
  });
});

describe('sessions and guesses', () => {
  it('expires sessions and revokes them', () => {
    let t = 0;
    const s = new Sessions(() => t, 1000);
    const tok = s.create();
    expect(s.valid(tok)).toBe(true);
    expect(s.valid('other')).toBe(false);
    expect(s.valid(undefined)).toBe(false);
    t = 1000;
    expect(s.valid(tok)).toBe(false);
    const tok2 = s.create();
    s.revoke(tok2);
    expect(s.valid(tok2)).toBe(false);
  });

  it('limits wrong codes per client and in total, in a sliding window', () => {
    let t = 0;
    const g = new GuessLimiter(() => t, 3, 5, 60_000);
    for (let i = 0; i < 3; i++) g.fail('a');
    expect(g.retryAfterMs('a')).toBe(60_000);
    expect(g.retryAfterMs('b')).toBe(0);
    g.fail('b');
    g.fail('c');
    expect(g.retryAfterMs('d')).toBe(60_000); // the total cap: 5 failures from anyone
    t = 60_001;
    expect(g.retryAfterMs('a')).toBe(0);
    g.fail('a');
    g.succeed('a');
    expect(g.retryAfterMs('a')).toBe(0);
  });
});

describe('LAN only', () => {
  it('knows private, loopback and link-local addresses', () => {
    for (const a of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.10',
      '127.0.0.1',
      '169.254.1.1',
      '::1',
      'fd12:3456::1',
      'fe80::1',
      '::ffff:192.168.0.5',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of [
      '8.8.8.8',
      '172.32.0.1',
      '100.64.0.1',
      '2001:db8::1',
      '::ffff:8.8.8.8',
      'example.com',
      '',
    ]) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });

  it('binds only to private addresses or a wildcard', () => {
    expect(() => checkBindHost('0.0.0.0')).not.toThrow();
    expect(() => checkBindHost('192.168.1.2')).not.toThrow();
    expect(() => checkBindHost('localhost')).not.toThrow();
    expect(() => checkBindHost('203.0.113.7')).toThrow(/LAN only/);
  });

  it('reads one cookie from a Cookie header', () => {
    expect(readCookie('a=1; cc_setup=tok; b=2', 'cc_setup')).toBe('tok');
    expect(readCookie(undefined, 'cc_setup')).toBeUndefined();
    expect(readCookie('xcc_setup=1', 'cc_setup')).toBeUndefined();
  });
});

describe('live view ffmpeg', () => {
  it('copies the video stream and never names an encoder', () => {
    const args = liveArgs('rtsp://u:p@cam/sub');
    expect(args.join(' ')).toContain('-c:v copy');
    expect(args).toContain('-an');
    expect(args.join(' ')).toContain('frag_keyframe+empty_moov+default_base_moof');
    expect(args.join(' ')).not.toMatch(/libx26|-vf|-filter/);
    expect(args[args.length - 1]).toBe('pipe:1');
  });
});
