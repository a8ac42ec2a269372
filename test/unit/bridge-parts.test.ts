/**
 * Pure parts of the bridge: incident limits, the RTCC key file, token hashing, the router, the
 * tar writer (read back by the system's tar), the evidence store's key safety.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BridgeConfig } from '../../cloud-bridge/config.js';
import { parseIncidentInput } from '../../cloud-bridge/incidents/input.js';
import { loadOrCreateRtccKey, KEY_FILE } from '../../cloud-bridge/keys.js';
import { hashToken } from '../../cloud-bridge/http/auth.js';
import { Router } from '../../cloud-bridge/http/router.js';
import { HttpError } from '../../cloud-bridge/http/problem.js';
import { writeTar } from '../../cloud-bridge/evidence/tar.js';
import { evidenceKey, LocalDiskStore } from '../../cloud-bridge/evidence/store.js';
import { destinationPoint } from '../../protocol/geofence.js';
import { subscriptionPlan, takeShared } from '../../cloud-bridge/mqtt/link.js';

const limits = BridgeConfig.parse({ dataDir: '/x' }).limits;
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ccb-unit-'));

describe('incident input', () => {
  const base = {
    caseNumber: 'C-1',
    reason: 'r',
    area: { kind: 'circle', center: { lat: 1, lon: 2 }, radiusM: 800 },
    from: 0,
    to: 12 * 3600_000,
  };
  it('accepts the limits exactly and ISO times', () => {
    expect(parseIncidentInput(base, limits).success).toBe(true);
    const iso = parseIncidentInput(
      { ...base, from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00+01:00' },
      limits,
    );
    expect(iso.success).toBe(false); // to == from: the offset is honoured
  });
  it('refuses radius, window and polygon extent over the limits with a reason', () => {
    const over = parseIncidentInput(
      { ...base, area: { ...base.area, radiusM: 801 }, to: 12 * 3600_000 + 1 },
      limits,
    );
    expect(over.success).toBe(false);
    const msgs = over.error!.issues.map((i) => i.message).join(' | ');
    expect(msgs).toMatch(/radius of at most 800 m/);
    expect(msgs).toMatch(/at most 12 h/);
    const c = { lat: 40, lon: -74 };
    const big = [0, 120, 240].map((b) => destinationPoint(c, b, 1000));
    expect(parseIncidentInput({ ...base, area: { kind: 'polygon', points: big } }, limits).success).toBe(
      false,
    );
    const ok = [0, 120, 240].map((b) => destinationPoint(c, b, 700));
    expect(parseIncidentInput({ ...base, area: { kind: 'polygon', points: ok } }, limits).success).toBe(true);
  });
});

describe('RTCC key', () => {
  it('is created once with mode 0600, reused, and tightened if loosened', () => {
    const dir = tmp();
    const a = loadOrCreateRtccKey(dir);
    const file = path.join(dir, KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644);
    const b = loadOrCreateRtccKey(dir);
    expect(b.publicKeyB64u).toBe(a.publicKeyB64u);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(a.publicKeyB64u).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
  it('refuses a key file that is not Ed25519', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, KEY_FILE), 'not a key', { mode: 0o600 });
    expect(() => loadOrCreateRtccKey(dir)).toThrow();
  });
});

describe('router and tokens', () => {
  it('matches params, says 405 for a known path with another method', () => {
    const r = new Router().add({
      method: 'GET',
      path: '/api/things/:id',
      auth: 'public',
      handler: () => undefined,
    });
    expect(r.match('GET', '/api/things/a%20b')?.params).toEqual({ id: 'a b' });
    expect(r.match('GET', '/api/other')).toBeNull();
    expect(() => r.match('DELETE', '/api/things/x')).toThrow(HttpError);
  });
  it('stores only a SHA-256 of tokens', () => {
    expect(hashToken('ccb_abc')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken('ccb_abc')).not.toContain('abc');
  });
});

describe('evidence tar and store', () => {
  it('writes a tar that the system tar reads, long names included', async () => {
    const dir = tmp();
    const long = `${'d'.repeat(60)}/${'c'.repeat(60)}/files/clip.mp4`;
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeTar(out, [
      { name: 'a/manifest.json', size: 2, mtimeMs: 0, open: () => Readable.from([Buffer.from('{}')]) },
      { name: long, size: 1000, mtimeMs: 0, open: () => Readable.from([Buffer.alloc(1000, 3)]) },
    ]);
    out.end();
    const file = path.join(dir, 'x.tar');
    writeFileSync(file, Buffer.concat(chunks));
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n')).toEqual([
      'a/manifest.json',
      long,
    ]);
    execFileSync('tar', ['-xf', file, '-C', dir]);
    expect(readFileSync(path.join(dir, long))).toEqual(Buffer.alloc(1000, 3));
  });
  it('refuses keys that could escape the store', async () => {
    expect(() => evidenceKey('incidents', '..', 'x')).toThrow();
    expect(() => evidenceKey('a/b')).toThrow();
    const store = new LocalDiskStore(tmp());
    await expect(store.put('ok/../../etc', Readable.from(['x']))).rejects.toThrow(/unsafe/);
    const put = await store.put('ok/f.bin', Readable.from([Buffer.from('hello')]));
    expect(put).toMatchObject({
      bytes: 5,
      sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    });
    expect(await store.list('ok')).toEqual(['ok/f.bin']);
  });
});

describe('shared ingest plan (MQTT 5 §4.8.2)', () => {
  it('shares every agent topic and subscribes retained ones plainly for the snapshot', () => {
    const [shared, snapshot] = subscriptionPlan('g1');
    expect(shared!.subs.map((x) => x.filter)).toEqual(
      expect.arrayContaining([
        '$share/g1/camconnect/v1/agents/+/health',
        '$share/g1/camconnect/v1/agents/+/status',
      ]),
    );
    expect(shared!.subs.some((x) => x.filter.endsWith('/requests'))).toBe(false);
    expect(snapshot!.subs.map((x) => x.filter).sort()).toEqual([
      'camconnect/v1/agents/+/cameras',
      'camconnect/v1/agents/+/status',
    ]);
    expect(subscriptionPlan()).toHaveLength(1);
  });
  it('takes shared deliveries and retained snapshots, drops live copies of the plain subscription', () => {
    expect(takeShared({ retain: false, properties: { subscriptionIdentifier: 2 } })).toBe(true);
    expect(takeShared({ retain: false, properties: { subscriptionIdentifier: [1, 2] } })).toBe(true);
    expect(takeShared({ retain: true, properties: { subscriptionIdentifier: 1 } })).toBe(true);
    expect(takeShared({ retain: false, properties: { subscriptionIdentifier: 1 } })).toBe(false);
    expect(takeShared({ retain: false })).toBe(false);
  });
});
