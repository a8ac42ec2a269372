import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locateTool } from '../../lib/ffmpeg.js';

describe('locateTool', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cc-ff-'));
  const fake = path.join(dir, 'ffmpeg');
  writeFileSync(fake, '#!/bin/sh\n');
  chmodSync(fake, 0o755);

  it('prefers FFMPEG_PATH', () => {
    expect(locateTool('ffmpeg', { FFMPEG_PATH: fake, PATH: '/nonexistent' })).toEqual({
      path: fake,
      source: 'env',
    });
  });

  it('refuses a FFMPEG_PATH that is not executable instead of silently falling back', () => {
    expect(() => locateTool('ffmpeg', { FFMPEG_PATH: path.join(dir, 'nope'), PATH: dir })).toThrow(
      /not an executable/,
    );
  });

  it('then searches PATH in order', () => {
    expect(locateTool('ffmpeg', { PATH: `/nonexistent:${dir}` })).toEqual({ path: fake, source: 'path' });
  });

  it('then falls back to the npm-shipped binary when installed', () => {
    const found = locateTool('ffprobe', { PATH: '/nonexistent' });
    expect(found.source).toBe('npm');
    expect(found.path).toMatch(/@ffprobe-installer/);
  });
});
