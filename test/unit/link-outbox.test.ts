import { mkdtemp, readdir, appendFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { Outbox } from '../../agent/link/outbox.js';
import type { OutboxClass } from '../../agent/link/outbox.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'outbox-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function open(dir: string, over: Partial<ConstructorParameters<typeof Outbox>[0]> = {}): Promise<Outbox> {
  const o = new Outbox({ dir, maxBytes: 1 << 20, maxEntries: 100_000, commitDelayMs: 1, ...over });
  return o.open().then(() => o);
}

/** Takes every sendable entry, acknowledging as it goes, like a pump on a perfect link. */
function drain(o: Outbox, ack = true): string[] {
  const out: string[] = [];
  for (let e = o.next(); e; e = o.next()) {
    o.markInflight(e);
    out.push(`${e.cls}:${e.payload.toString()}`);
    if (ack) o.ack(e.seq);
  }
  return out;
}

describe('outbox', () => {
  test('delivers in order and forgets acknowledged entries across a restart', async () => {
    const dir = await tmp();
    const a = await open(dir);
    for (let i = 0; i < 5; i++) await a.append('event', 'motion', Buffer.from(String(i)));
    const first = a.next()!;
    a.markInflight(first);
    a.ack(first.seq);
    await a.close();

    const b = await open(dir);
    expect(drain(b)).toEqual(['event:1', 'event:2', 'event:3', 'event:4']);
    await b.close();
    const c = await open(dir);
    expect(drain(c)).toEqual([]);
    expect(c.stats().queued).toBe(0);
    await c.close();
  });

  test('in-flight entries are sent again, from the oldest, after the link drops', async () => {
    const o = await open(await tmp());
    for (const p of ['a', 'b', 'c']) await o.append('reply', 'replies', Buffer.from(p));
    expect(drain(o, false)).toEqual(['reply:a', 'reply:b', 'reply:c']);
    o.ack(1);
    o.requeueInflight();
    expect(drain(o)).toEqual(['reply:b', 'reply:c']);
    await o.close();
  });

  test('10,000 queued events come back in order after a restart', async () => {
    const dir = await tmp();
    const a = await open(dir, { segmentBytes: 64 * 1024 });
    // 100 group commits of 100, so the log rolls over several segments.
    for (let chunk = 0; chunk < 100; chunk++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          a.append('event', 'motion', Buffer.from(String(chunk * 100 + i))),
        ),
      );
    }
    await a.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(1);
    const b = await open(dir);
    const got = drain(b);
    expect(got).toEqual(Array.from({ length: 10_000 }, (_, i) => `event:${i}`));
    await b.close();
    // Fully committed segments are unlinked; only the active one remains.
    expect((await readdir(dir)).filter((f) => f.endsWith('.log')).length).toBe(1);
  });

  test('when full, health goes first, then the oldest events; replies are never dropped', async () => {
    const o = await open(await tmp(), { maxEntries: 4 });
    const put = (c: OutboxClass, p: string): Promise<boolean> => o.append(c, c, Buffer.from(p));
    await put('health', 'h1');
    await put('event', 'e1');
    await put('reply', 'r1');
    await put('health', 'h2');
    expect(await put('event', 'e2')).toBe(true); // evicts h1
    expect(await put('event', 'e3')).toBe(true); // evicts h2
    expect(await put('health', 'h3')).toBe(false); // no older health to evict: the new one is dropped
    expect(await put('reply', 'r2')).toBe(true); // evicts e1
    expect(await put('reply', 'r3')).toBe(true); // evicts e2
    expect(await put('reply', 'r4')).toBe(true); // evicts e3
    expect(await put('reply', 'r5')).toBe(true); // nothing left to evict: over the bound rather than lose a reply
    expect(drain(o)).toEqual(['reply:r1', 'reply:r2', 'reply:r3', 'reply:r4', 'reply:r5']);
    expect(o.stats().dropped).toEqual({ health: 3, event: 3, reply: 0 });
    await o.close();
  });

  test('drops survive a restart (tombstones), so evicted entries are not resent', async () => {
    const dir = await tmp();
    const a = await open(dir, { maxEntries: 2 });
    await a.append('health', 'health', Buffer.from('h'));
    await a.append('event', 'motion', Buffer.from('e1'));
    await a.append('event', 'motion', Buffer.from('e2'));
    await a.close();
    const b = await open(dir, { maxEntries: 2 });
    expect(drain(b)).toEqual(['event:e1', 'event:e2']);
    await b.close();
  });

  test('a torn last record (power cut mid-write) is cut off; everything before it survives', async () => {
    const dir = await tmp();
    const a = await open(dir);
    await a.append('event', 'motion', Buffer.from('kept'));
    await a.close();
    const seg = (await readdir(dir)).find((f) => f.endsWith('.log'))!;
    const before = (await stat(path.join(dir, seg))).size;
    await appendFile(path.join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const b = await open(dir);
    expect(b.stats().recoveredTornBytes).toBe(7);
    expect((await stat(path.join(dir, seg))).size).toBe(before);
    await b.append('event', 'motion', Buffer.from('after'));
    expect(drain(b)).toEqual(['event:kept', 'event:after']);
    await b.close();
  });

  test('nothing is sent before it is on disk, and a not-yet-written entry is never skipped', async () => {
    const o = await open(await tmp());
    const p = o.append('event', 'motion', Buffer.from('x'));
    expect(o.next()).toBeUndefined();
    await p;
    expect(o.next()?.payload.toString()).toBe('x');
    await o.close();
  });
});
