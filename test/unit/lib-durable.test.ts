import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/durable.js';

describe('writeFileAtomic', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cc-durable-'));

  it('replaces the content and gives the new file its mode from the start (0600 by default)', async () => {
    const file = path.join(dir, 'state.json');
    writeFileSync(file, 'old', { mode: 0o644 });
    await writeFileAtomic(file, '{"v":1}');
    expect(readFileSync(file, 'utf8')).toBe('{"v":1}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await writeFileAtomic(file, 'public', { mode: 0o644 });
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves the old file and no temp file when the replace fails', async () => {
    const target = path.join(dir, 'a-folder');
    mkdirSync(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
